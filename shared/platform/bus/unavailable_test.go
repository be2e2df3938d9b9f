package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// downError is what a store answers while its database is down
// (surreal.ErrUnavailable has the same shape: HTTP status 503).
type downError struct{}

func (downError) Error() string   { return "surrealdb unavailable" }
func (downError) HTTPStatus() int { return 503 }

// A consumer whose store is unavailable for longer than MaxDeliver × its
// backoff still processes the event once when the store is back: the
// unavailable deliveries, returned through the Lambda Invoke API as the
// dispatcher sees them, are not attempts. A real failure still counts.
func TestUnavailableIsNotAnAttempt(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	const outage = 8 // deliveries answered unavailable, well past MaxDeliver=3
	var calls, processed atomic.Int32
	var mu sync.Mutex
	var attempts []int
	inv := invoke.NewLocal()
	inv.Register("consumer", bus.InvokeHandler(bus.Each(func(ctx context.Context, d bus.Delivery) error {
		n := calls.Add(1)
		mu.Lock()
		attempts = append(attempts, d.Attempt)
		mu.Unlock()
		switch {
		case n == 1:
			return errors.New("a real failure") // counts: the next attempt is 2
		case n <= 1+outage:
			return fmt.Errorf("save event: %w", downError{})
		}
		processed.Add(1)
		return nil
	})))
	s := spec("t-unavailable", subject, 3)
	s.UnavailableBase, s.UnavailableMax = 20*time.Millisecond, 50*time.Millisecond
	var unavailable atomic.Int32
	s.Observe = func(outcome string) {
		if outcome == "unavailable" {
			unavailable.Add(1)
		}
	}
	sub, err := b.Consume(ctx, s, bus.Each(func(ctx context.Context, d bus.Delivery) error {
		payload, _ := json.Marshal(d) // as the dispatcher invokes a consumer
		_, err := inv.Invoke(ctx, "consumer", payload)
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	if _, err := b.Publish(ctx, subject, "evt-outage", map[string]string{"k": "v"}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the event processed after the outage", func() bool { return processed.Load() == 1 })
	time.Sleep(300 * time.Millisecond) // nothing more arrives
	if calls.Load() != 2+outage || processed.Load() != 1 || unavailable.Load() != outage {
		t.Fatalf("calls %d processed %d unavailable %d, want %d, 1, %d", calls.Load(), processed.Load(), unavailable.Load(), 2+outage, outage)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, a := range attempts {
		if want := min(i+1, 2); a != want {
			t.Fatalf("delivery %d saw attempt %d, want %d (attempts %v)", i+1, a, want, attempts)
		}
	}
	if dl, _ := b.ReadStream(ctx, "DEADLETTER", "deadletter.t-unavailable", 10); len(dl) != 0 {
		t.Fatalf("dead-lettered during an outage: %v", dl)
	}
}

// An outage longer than UnavailableFor dead-letters the event, naming why.
func TestUnavailableTooLongIsDeadLettered(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	s := spec("t-unavailable-long", subject, 3)
	s.UnavailableBase, s.UnavailableMax, s.UnavailableFor = 20*time.Millisecond, 20*time.Millisecond, 300*time.Millisecond
	var calls atomic.Int32
	sub, err := b.Consume(ctx, s, bus.Each(func(ctx context.Context, d bus.Delivery) error {
		calls.Add(1)
		return bus.Unavailable(errors.New("lambda throttled"))
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	if _, err := b.Publish(ctx, subject, "evt-long", map[string]string{"k": "v"}, nil); err != nil {
		t.Fatal(err)
	}
	var dl []bus.StreamMessage
	waitFor(t, "dead letter", func() bool {
		dl, _ = b.ReadStream(ctx, "DEADLETTER", "deadletter.t-unavailable-long", 10)
		return len(dl) > 0
	})
	if calls.Load() <= 3 || dl[0].Headers[bus.HeaderError] != "unavailable: lambda throttled" {
		t.Fatalf("calls %d, dead letter %v", calls.Load(), dl[0].Headers)
	}
}

// What counts as unavailable: 503/429 statuses, the Lambda API's throttles
// and 5xx, and a function's UnavailableError by name; not a function's
// other failures.
func TestIsUnavailable(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("x: %w", downError{}), true},
		{bus.Unavailable(errors.New("x")), true},
		{bus.ErrUnavailable, true},
		{&invoke.FunctionError{Function: "f", Type: "UnavailableError", Message: "unavailable: x"}, true},
		{&invoke.FunctionError{Function: "f", Type: "wrapError", Message: "surrealdb unavailable"}, false},
		{fmt.Errorf("invoke f: %w", awsStatus(429)), true},
		{fmt.Errorf("invoke f: %w", awsStatus(502)), true},
		{fmt.Errorf("invoke f: %w", awsStatus(400)), false},
		// what our Lambda client returns (awscfg.Service) for a throttled or failing Invoke
		{fmt.Errorf("invoke f: %w", &awscfg.APIError{Status: 429, Code: "TooManyRequestsException"}), true},
		{fmt.Errorf("invoke f: %w", &awscfg.APIError{Status: 500, Code: "ServiceException"}), true},
		{fmt.Errorf("invoke f: %w", &awscfg.APIError{Status: 400, Code: "InvalidRequestContentException"}), false},
		{errors.New("plain"), false},
		{bus.Permanent(errors.New("bad event")), false},
	} {
		if got := bus.IsUnavailable(c.err); got != c.want {
			t.Errorf("IsUnavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// awsStatus has the shape of the AWS SDK's response errors.
type awsStatus int

func (s awsStatus) Error() string       { return fmt.Sprintf("https response error StatusCode: %d", int(s)) }
func (s awsStatus) HTTPStatusCode() int { return int(s) }

// A durable consumer created before unavailable outcomes were counted apart
// (MaxDeliver enforced by the server) is taken over: the server's limit is
// lifted so that the bus counts attempts.
func TestEarlierConsumerIsUpdated(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	js := jetstreamOf(t)
	if _, err := js.CreateOrUpdateConsumer(ctx, "PORTFOLIO", jetstream.ConsumerConfig{Durable: "t-earlier",
		FilterSubjects: []string{subject}, AckPolicy: jetstream.AckExplicitPolicy, MaxDeliver: 3}); err != nil {
		t.Fatal(err)
	}
	sub, err := b.Consume(ctx, spec("t-earlier", subject, 3), bus.Each(func(context.Context, bus.Delivery) error { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	c, err := js.Consumer(ctx, "PORTFOLIO", "t-earlier")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.CachedInfo().Config.MaxDeliver; got != -1 {
		t.Fatalf("server MaxDeliver %d, want -1", got)
	}
}

func jetstreamOf(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// A consumer's lag is what the server holds for it: events not yet
// delivered, and those delivered and not yet settled.
func TestSubscriptionLag(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	release := make(chan struct{})
	s := spec("t-lag", subject, 3)
	s.Concurrency = 1
	sub, err := b.Consume(ctx, s, bus.Each(func(ctx context.Context, d bus.Delivery) error {
		<-release
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	defer close(release)
	const events = 20
	for i := range events {
		if _, err := b.Publish(ctx, subject, fmt.Sprintf("evt-lag-%d", i), map[string]int{"i": i}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var lag bus.Lag
	waitFor(t, "lag to show every event", func() bool {
		lag, err = sub.Lag(ctx)
		return err == nil && lag.Pending+uint64(lag.AckPending) == events && lag.AckPending > 0
	})
	if lag.Consumer != "t-lag" || lag.Pending == 0 {
		t.Fatalf("lag %+v: the blocked consumer should leave events undelivered", lag)
	}
}

// An event published while handling a traced request carries the trace
// (traceparent header) to its consumer, whose context continues it.
func TestTraceCarriedToConsumer(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	origin := obs.NewTrace()
	got := make(chan obs.Trace, 1)
	var header string
	sub, err := b.Consume(ctx, spec("t-trace", subject, 3), bus.Each(func(ctx context.Context, d bus.Delivery) error {
		header = d.Headers[obs.TraceHeader]
		tr, _ := obs.TraceFrom(ctx)
		got <- tr
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	if _, err := b.Publish(obs.WithTrace(ctx, origin), subject, "evt-trace", map[string]string{"k": "v"}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case tr := <-got:
		if tr.TraceID != origin.TraceID || tr.SpanID == origin.SpanID || !strings.Contains(header, origin.TraceID) {
			t.Fatalf("consumer trace %+v (header %q), publisher's %+v", tr, header, origin)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
}
