package bus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// The dispatcher is healthy while NATS answers and its consumers are bound;
// a consumer removed from the server makes it unhealthy, naming the consumer.
func TestDispatcherHealth(t *testing.T) {
	ctx := context.Background()
	b, subject := setup(t)
	d := &bus.Dispatcher{Bus: b, Invoker: invoke.NewLocal()}
	if err := d.Healthy(ctx); err == nil || !strings.Contains(err.Error(), "no consumer") {
		t.Fatalf("before start: %v", err)
	}
	fn := catalog.Function{Name: "portfolio-t-health", Kind: catalog.Consumer, Subjects: []string{subject}, MaxDeliver: 3, Timeout: time.Second}
	must(t, d.Start(ctx, []catalog.Function{fn}))
	defer d.Stop()
	must(t, d.Healthy(ctx))

	nc, err := nats.Connect(natsURL)
	must(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	must(t, err)
	must(t, js.DeleteConsumer(ctx, "PORTFOLIO", fn.Name))
	if err := d.Healthy(ctx); err == nil || !strings.Contains(err.Error(), fn.Name) {
		t.Fatalf("consumer deleted, health says %v", err)
	}
}
