package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	localnats "github.com/stratumiops/stratumiops/localstack/nats"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

var natsURL string

func TestMain(m *testing.M) {
	srv, err := localnats.Start(localnats.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	natsURL = srv.URL()
	code := m.Run()
	srv.Close()
	os.Exit(code)
}

// Each test uses its own subject under the PORTFOLIO stream so durable consumers don't interfere.
func setup(t *testing.T) (*bus.Bus, string) {
	t.Helper()
	ctx := context.Background()
	b, err := bus.Connect(ctx, natsURL, t.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if err := b.EnsureStreams(ctx, catalog.Streams); err != nil {
		t.Fatal(err)
	}
	subject := "portfolio.test." + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "_"))
	return b, subject
}

func spec(name, subject string, maxDeliver int) bus.ConsumerSpec {
	return bus.ConsumerSpec{Name: name, Subjects: []string{subject}, MaxDeliver: maxDeliver,
		AckWait: 5 * time.Second, RetryBase: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPublishDeduplicatesByMsgID(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	dup, err := b.Publish(ctx, subject, "evt-1", map[string]int{"n": 1}, nil)
	if err != nil || dup {
		t.Fatalf("first publish dup=%v err=%v", dup, err)
	}
	dup, err = b.Publish(ctx, subject, "evt-1", map[string]int{"n": 1}, nil)
	if err != nil || !dup {
		t.Fatalf("second publish dup=%v err=%v", dup, err)
	}
	var seen atomic.Int32
	sub, err := b.Consume(ctx, spec("t-dedup", subject, 3), bus.Each(func(ctx context.Context, d bus.Delivery) error {
		seen.Add(1)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	waitFor(t, "delivery", func() bool { return seen.Load() == 1 })
	time.Sleep(200 * time.Millisecond)
	if seen.Load() != 1 {
		t.Fatalf("delivered %d times", seen.Load())
	}
	if _, err := b.Publish(ctx, subject, "", 1, nil); err == nil {
		t.Fatal("publish without id accepted")
	}
}

func TestFailTwiceThenSucceedIsRedelivered(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	var attempts []int
	var mu sync.Mutex
	done := make(chan struct{})
	sub, err := b.Consume(ctx, spec("t-retry", subject, 5), bus.Each(func(ctx context.Context, d bus.Delivery) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, d.Attempt)
		if d.Attempt <= 2 {
			return errors.New("transient")
		}
		close(done)
		return nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	if _, err := b.Publish(ctx, subject, "evt-retry", map[string]string{"k": "v"}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("never succeeded")
	}
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(attempts) != "[1 2 3]" {
		t.Fatalf("attempts %v", attempts)
	}
	if dl, _ := b.ReadStream(ctx, "DEADLETTER", "deadletter.t-retry", 10); len(dl) != 0 {
		t.Fatalf("dead-lettered a message that succeeded: %v", dl)
	}
}

func TestAlwaysFailingLandsInDeadLetterWithLastError(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	var calls atomic.Int32
	sub, err := b.Consume(ctx, spec("t-dlq", subject, 3), bus.Each(func(ctx context.Context, d bus.Delivery) error {
		calls.Add(1)
		return fmt.Errorf("failure on attempt %d", d.Attempt)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	body := map[string]string{"payload": "keep me"}
	if _, err := b.Publish(ctx, subject, "evt-dlq", body, map[string]string{"Trace-Id": "t1"}); err != nil {
		t.Fatal(err)
	}
	var dl []bus.StreamMessage
	waitFor(t, "dead letter", func() bool {
		dl, _ = b.ReadStream(ctx, "DEADLETTER", "deadletter.t-dlq", 10)
		return len(dl) > 0
	})
	time.Sleep(200 * time.Millisecond)
	if calls.Load() != 3 {
		t.Fatalf("handler ran %d times, want MaxDeliver=3", calls.Load())
	}
	m := dl[0]
	var got map[string]string
	if err := json.Unmarshal(m.Data, &got); err != nil || got["payload"] != "keep me" {
		t.Fatalf("original data lost: %s", m.Data)
	}
	h := m.Headers
	if h[bus.HeaderError] != "failure on attempt 3" || h[bus.HeaderAttempts] != "3" ||
		h[bus.HeaderOriginalSubject] != subject || h[bus.HeaderOriginalMsgID] != "evt-dlq" || h["Trace-Id"] != "t1" {
		t.Fatalf("headers %v", h)
	}
}

func TestPermanentErrorSkipsRetries(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	var calls atomic.Int32
	sub, err := b.Consume(ctx, spec("t-perm", subject, 5), bus.Each(func(ctx context.Context, d bus.Delivery) error {
		calls.Add(1)
		return bus.Permanent(errors.New("malformed event"))
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Stop()
	if _, err := b.Publish(ctx, subject, "evt-perm", 1, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "dead letter", func() bool {
		dl, _ := b.ReadStream(ctx, "DEADLETTER", "deadletter.t-perm", 10)
		return len(dl) == 1
	})
	if calls.Load() != 1 {
		t.Fatalf("permanent failure retried: %d calls", calls.Load())
	}
}

type sample struct {
	Name string `json:"name"`
}

// The dispatcher invokes consumer functions through an Invoker; a typed handler
// refuses data that does not decode, and that permanent error survives the invoke
// boundary as Lambda's errorType.
func TestDispatcherThroughInvoker(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	var got []string
	var mu sync.Mutex
	handler := bus.Typed(func(ctx context.Context, d bus.Delivery, s sample) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, s.Name)
		return nil
	})
	inv := invoke.NewLocal()
	inv.Register("portfolio-t-dispatch", bus.InvokeHandler(bus.Each(handler)))
	outcomes := map[string]int{}
	d := &bus.Dispatcher{Bus: b, Invoker: inv, RetryBase: 20 * time.Millisecond, Observe: func(fn, outcome string) {
		mu.Lock()
		defer mu.Unlock()
		outcomes[outcome]++
	}}
	fn := catalog.Function{Name: "portfolio-t-dispatch", Kind: catalog.Consumer, Subjects: []string{subject}, MaxDeliver: 4, Timeout: time.Second}
	if err := d.Start(ctx, []catalog.Function{fn}); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	_, _ = b.Publish(ctx, subject, "ok-1", sample{Name: "alpha"}, nil)
	_, _ = b.Publish(ctx, subject, "bad-1", map[string]any{"name": 5}, nil)
	waitFor(t, "both outcomes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return outcomes["acked"] == 1 && outcomes["dead_lettered"] == 1
	})
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(got) != "[alpha]" || outcomes["retried"] != 0 {
		t.Fatalf("got %v outcomes %v", got, outcomes)
	}
}

// A consumer with a Batch gets the messages that are waiting in one
// invocation; each delivery of a batch is settled by its own outcome: the one
// that does not decode is dead-lettered, the one that fails once is retried
// alone, the rest are acked once.
func TestDispatcherBatches(t *testing.T) {
	b, subject := setup(t)
	ctx := context.Background()
	const n = 60
	for i := range n {
		if _, err := b.Publish(ctx, subject, fmt.Sprintf("m-%d", i), sample{Name: fmt.Sprint(i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	_, _ = b.Publish(ctx, subject, "bad", map[string]any{"name": 5}, nil)
	var mu sync.Mutex
	seen := map[string]int{}
	var sizes []int
	handler := bus.TypedBatch(func(ctx context.Context, ds []bus.Delivery, evs []sample) []error {
		mu.Lock()
		defer mu.Unlock()
		sizes = append(sizes, len(ds))
		errs := make([]error, len(ds))
		for i, e := range evs {
			if e.Name == "7" && ds[i].Attempt == 1 {
				errs[i] = errors.New("transient")
				continue
			}
			seen[e.Name]++
		}
		return errs
	})
	inv := invoke.NewLocal()
	inv.Register("portfolio-t-batch", bus.InvokeHandler(handler))
	outcomes := map[string]int{}
	d := &bus.Dispatcher{Bus: b, Invoker: inv, RetryBase: 20 * time.Millisecond, Observe: func(fn, outcome string) {
		mu.Lock()
		defer mu.Unlock()
		outcomes[outcome]++
	}}
	fn := catalog.Function{Name: "portfolio-t-batch", Kind: catalog.Consumer, Subjects: []string{subject}, MaxDeliver: 4,
		Timeout: time.Second, Concurrency: 2, Batch: 25}
	if err := d.Start(ctx, []catalog.Function{fn}); err != nil {
		t.Fatal(err)
	}
	defer d.Stop()
	waitFor(t, "every outcome", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return outcomes["acked"] == n && outcomes["dead_lettered"] == 1
	})
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != n || outcomes["retried"] != 1 {
		t.Fatalf("seen %d of %d events, outcomes %v", len(seen), n, outcomes)
	}
	for name, times := range seen {
		if times != 1 {
			t.Errorf("event %s handled %d times", name, times)
		}
	}
	if largest := slices.Max(sizes); largest < 2 || largest > 25 {
		t.Errorf("batch sizes %v: want some batching, none over 25", sizes)
	}
}

func TestBackoffDoublesUpToCeiling(t *testing.T) {
	s := bus.ConsumerSpec{RetryBase: time.Second, RetryMax: 5 * time.Second}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range want {
		if got := s.Backoff(i + 1); got != w {
			t.Errorf("attempt %d: %s, want %s", i+1, got, w)
		}
	}
}

func TestPingReportsUnavailable(t *testing.T) {
	srv, err := localnats.Start(localnats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.Connect(context.Background(), srv.URL(), "ping", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	waitFor(t, "disconnect", func() bool {
		return errors.Is(b.Ping(context.Background()), bus.ErrUnavailable)
	})
}
