package bus_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// A consumer that asks for its own delay (RetryAfter) is redelivered after
// that delay, not the consumer's backoff, also through the Lambda Invoke API.
func TestRetryAfterDelaysRedeliveryThroughInvoker(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	const asked = 700 * time.Millisecond
	var mu sync.Mutex
	var at []time.Time
	inv := invoke.NewLocal()
	inv.Register("portfolio-t-retry-after", bus.InvokeHandler(bus.Each(func(ctx context.Context, d bus.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		at = append(at, time.Now())
		if d.Attempt == 1 {
			return bus.RetryAfter(asked, errors.New("not yet"))
		}
		return nil
	})))
	d := &bus.Dispatcher{Bus: b, Invoker: inv, RetryBase: 10 * time.Millisecond}
	fn := catalog.Function{Name: "portfolio-t-retry-after", Kind: catalog.Consumer, Subjects: []string{subject}, MaxDeliver: 3, Timeout: time.Second}
	if err := d.Start(ctx, []catalog.Function{fn}); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	if _, err := b.Publish(ctx, subject, "retry-after-1", map[string]string{"k": "v"}, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "second delivery", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(at) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	if gap := at[1].Sub(at[0]); gap < asked {
		t.Fatalf("redelivered after %s, asked %s (the consumer's own backoff is 10ms)", gap, asked)
	}
}

// A handler that runs longer than AckWait is not delivered a second time:
// the bus tells JetStream it is in progress.
func TestLongHandlerIsNotRedelivered(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	var calls atomic.Int32
	done := make(chan struct{})
	s := spec("t-long", subject, 5)
	s.AckWait = 300 * time.Millisecond
	sub, err := b.Consume(ctx, s, bus.Each(func(ctx context.Context, d bus.Delivery) error {
		if calls.Add(1) == 1 {
			time.Sleep(4 * s.AckWait)
			close(done)
		}
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	if _, err := b.Publish(ctx, subject, "long-1", map[string]string{"k": "v"}, nil); err != nil {
		t.Fatal(err)
	}
	<-done
	time.Sleep(2 * s.AckWait)
	if n := calls.Load(); n != 1 {
		t.Fatalf("delivered %d times", n)
	}
}
