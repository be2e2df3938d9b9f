package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	localnats "github.com/stratumiops/stratumiops/localstack/nats"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// natsServer is a real embedded NATS with JetStream for one test.
func natsServer(t testing.TB) string {
	t.Helper()
	srv, err := localnats.Start(localnats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv.URL()
}

// connect is one instance's bus connection, with the catalog's streams.
func connect(t testing.TB, url string) *bus.Bus {
	t.Helper()
	b, err := bus.Connect(context.Background(), url, t.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	if err := b.EnsureStreams(context.Background(), catalog.Streams); err != nil {
		t.Fatal(err)
	}
	return b
}

// consumeCosts runs vapora-llm-on-cost's handler (h wraps it when not nil)
// as its catalog entry says, until the returned stop.
func consumeCosts(t testing.TB, b *bus.Bus, h bus.BatchHandler) func() {
	t.Helper()
	f, ok := catalog.Lookup("vapora-llm-on-cost")
	if !ok {
		t.Fatal("vapora-llm-on-cost is not in the catalog")
	}
	sub, err := b.Consume(context.Background(), bus.SpecFor(f, 20*time.Millisecond), h)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() { once.Do(sub.Stop) }
	t.Cleanup(stop)
	return stop
}

// waitCosts waits until the role has n cost records in the store (the
// consumer's backlog drained); it fails only if they never come.
func waitCosts(t *testing.T, e *env, role string, n int) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, _ := countCosts(t, e, role)
		if got == n {
			return
		}
		if got > n || time.Now().After(deadline) {
			t.Fatalf("%s has %d cost records, want %d", role, got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func routeN(t *testing.T, r *Router, role string, n int) {
	t.Helper()
	req := RouteRequest{Role: role, TaskType: "design", Messages: []Message{{Role: "user", Content: "x"}}, MaxTokens: 10}
	for i := 0; i < n; i++ {
		if _, err := r.Route(context.Background(), req); err != nil {
			t.Fatalf("call %d of %s: %v", i+1, role, err)
		}
	}
}

// routeUntilRefused routes one call after another until the budget refuses
// one (402) and returns how many went through.
func routeUntilRefused(t *testing.T, r *Router, role string) int {
	t.Helper()
	req := RouteRequest{Role: role, TaskType: "design", Messages: []Message{{Role: "user", Content: "x"}}, MaxTokens: 10}
	for n := 0; n < 1000; n++ {
		_, err := r.Route(context.Background(), req)
		var be *BudgetError
		if errors.As(err, &be) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatal("the budget never refused a call")
	return 0
}

// Two router instances over one database publish their cost records for
// the consumer to write. The overspend bound holds: an instance refuses
// once its own calls (pending, not yet written) and the others' written
// calls it has read reach the limit, so what gets through beyond the
// limit is at most the other instances' calls it has not seen (here the
// consumer is held back, so all of them) plus the call that crossed it.
// Once the consumer has written everything, both instances read back
// exactly the store's spend (their own pending records are not counted
// twice) and both refuse.
func TestAsyncBudgetBoundAcrossInstances(t *testing.T) {
	e := newEnv(t)
	setup(t, e)
	url := natsServer(t)
	e.router.PublishCosts(connect(t, url))
	a := e.router
	b := NewRouter(e.store, e.router.keys, NewCaller()).PublishCosts(connect(t, url))
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"claude","model":"claude-sonnet"}]}`)
	e.must(200, "PUT", "/llm/budget/Architect", `{"monthly_limit_cents":20}`) // 1.05 cents a call: crossed by the 20th
	const unseen = 5
	routeN(t, b, "Architect", unseen)
	throughA := routeUntilRefused(t, a, "Architect")
	if throughA != 20 {
		t.Fatalf("instance a let %d calls through, want 20 (its own crossing the limit)", throughA)
	}
	if n, _ := countCosts(t, e, "Architect"); n != 0 || a.spend.pending("Architect") != 20 || b.spend.pending("Architect") != unseen {
		t.Fatalf("with the consumer held back: %d records stored, pending a %d, b %d", n, a.spend.pending("Architect"),
			b.spend.pending("Architect"))
	}
	total := throughA + unseen
	limitMicros := int64(20 * 1_000_000)
	if over := int64(total)*sonnetMicros - limitMicros; over > unseen*sonnetMicros+sonnetMicros {
		t.Fatalf("overspend %d micros, bound %d (the other instance's unseen calls and the crossing call)", over,
			unseen*sonnetMicros+sonnetMicros)
	}
	consumeCosts(t, connect(t, url), WriteCosts(e.store))
	waitCosts(t, e, "Architect", total)
	stored, _, err := e.store.Spend(context.Background(), "Architect", time.Now())
	if err != nil || stored != int64(total)*sonnetMicros {
		t.Fatalf("stored spend %d (%v), want %d", stored, err, int64(total)*sonnetMicros)
	}
	for name, r := range map[string]*Router{"a": a, "b": b} {
		if err := r.spend.sync(context.Background(), "Architect"); err != nil {
			t.Fatal(err)
		}
		got, _, _ := r.spend.spend(context.Background(), "Architect", time.Now())
		if got != stored || r.spend.pending("Architect") != 0 {
			t.Fatalf("instance %s tracks %d micros with %d pending, the store holds %d", name, got, r.spend.pending("Architect"), stored)
		}
		if n := routeUntilRefused(t, r, "Architect"); n != 0 {
			t.Fatalf("instance %s let %d more calls through over the limit", name, n)
		}
	}
	t.Logf("limit 20 cents at 1.05 a call: %d calls went through (a %d, b %d unseen by a); overspend %.2f cents, bound %.2f",
		total, throughA, unseen, centsOf(int64(total)*sonnetMicros-limitMicros), centsOf(unseen*sonnetMicros+sonnetMicros))
}

// Concurrent calls on one instance publishing its records: the records
// are not written yet, but the instance counts its own at once, so a
// crossed budget lets through only the calls in flight when it was crossed.
func TestAsyncCrossingBoundInFlight(t *testing.T) {
	e := newEnv(t)
	setup(t, e)
	url := natsServer(t)
	e.router.PublishCosts(connect(t, url))
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"claude","model":"claude-sonnet"}]}`)
	e.must(200, "PUT", "/llm/budget/Architect", `{"monthly_limit_cents":20}`)
	const workers = 16
	var wg sync.WaitGroup
	var ok atomic.Int64
	req := RouteRequest{Role: "Architect", TaskType: "design", Messages: []Message{{Role: "user", Content: "x"}}, MaxTokens: 10}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := e.router.Route(context.Background(), req); err == nil {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	n := int(ok.Load())
	if n < 20 || n > 20+workers-1 {
		t.Fatalf("%d calls went through; want 20–%d", n, 20+workers-1)
	}
	consumeCosts(t, connect(t, url), WriteCosts(e.store))
	waitCosts(t, e, "Architect", n)
}

// A cost record published twice is kept once by JetStream (same message
// id), and a message delivered again after its record was written (the
// handler failed after the write, so JetStream redelivers it), or written
// by two consumers at once, is stored once: the spend counts it once.
func TestRedeliveredCostCountsOnce(t *testing.T) {
	e := newEnv(t)
	setup(t, e)
	url := natsServer(t)
	pub := connect(t, url)
	e.router.PublishCosts(pub)
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"gpt","model":"gpt-mini"}]}`)
	routeN(t, e.router, "Tester", 3)
	msgs, err := pub.ReadStream(context.Background(), "VAPORA", SubjectCosts, 10)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("stream holds %d cost messages (%v), want 3", len(msgs), err)
	}
	var first costMessage
	if err := json.Unmarshal(msgs[0].Data, &first); err != nil {
		t.Fatal(err)
	}
	if dup, err := pub.Publish(context.Background(), SubjectCosts, first.ID, first, nil); err != nil || !dup {
		t.Fatalf("a second publish of record %s: duplicate %v, %v", first.ID, dup, err)
	}
	// The first delivery of each message writes its record, then fails.
	var mu sync.Mutex
	failed := map[string]bool{}
	var deliveries atomic.Int64
	write := WriteCosts(e.store)
	consumeCosts(t, connect(t, url), func(ctx context.Context, ds []bus.Delivery) []error {
		errs := write(ctx, ds)
		mu.Lock()
		defer mu.Unlock()
		for i, d := range ds {
			deliveries.Add(1)
			if errs[i] == nil && !failed[d.MsgID] {
				failed[d.MsgID] = true
				errs[i] = fmt.Errorf("lost the ack of %s", d.MsgID)
			}
		}
		return errs
	})
	deadline := time.Now().Add(60 * time.Second)
	for deliveries.Load() < 6 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// Two consumers writing the same messages at once.
	ds := make([]bus.Delivery, len(msgs))
	for i, m := range msgs {
		ds[i] = bus.Delivery{Subject: m.Subject, MsgID: m.Headers["Nats-Msg-Id"], Data: m.Data, Time: m.Time}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for _, err := range write(context.Background(), ds) {
				if err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	n, micros := countCosts(t, e, "Tester")
	if deliveries.Load() < 6 || n != 3 || micros != 3*miniMicros {
		t.Fatalf("%d deliveries; %d records of %d micros, want 3 of %d", deliveries.Load(), n, micros, 3*miniMicros)
	}
	if err := e.router.spend.sync(context.Background(), "Tester"); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := e.router.spend.spend(context.Background(), "Tester", time.Now()); got != 3*miniMicros {
		t.Fatalf("tracked %d micros, want %d", got, 3*miniMicros)
	}
	// A message that is not a cost record is refused for good, alone.
	bad := bus.Delivery{MsgID: "x", Data: []byte(`{"id":"not-an-id","role":"Tester"}`)}
	if errs := write(context.Background(), []bus.Delivery{bad, ds[0]}); !bus.IsPermanent(errs[0]) || errs[1] != nil {
		t.Fatalf("a malformed message beside a good one: %v", errs)
	}
}

// The reports and the budget status see every record: a role's own calls
// at once (pending, before the consumer wrote them), and every record in
// the cost reports once the consumer has written them. A publish that
// fails (the bus is gone) writes the record directly.
func TestAsyncReportsSeeEveryRecord(t *testing.T) {
	e := newEnv(t)
	setup(t, e)
	url := natsServer(t)
	pub := connect(t, url)
	e.router.PublishCosts(pub)
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":"^design$","provider":"claude","model":"claude-sonnet"},
		{"pattern":".*","provider":"gpt","model":"gpt-mini"}]}`)
	e.must(200, "PUT", "/llm/budget/Developer", `{"monthly_limit_cents":100000}`)
	for i := 0; i < 4; i++ {
		e.must(200, "POST", "/llm/route", routeBody("Developer", "code"))
		e.must(200, "POST", "/llm/route", routeBody("CodeReviewer", "design"))
	}
	st := e.must(200, "GET", "/llm/budget/Developer", "")
	if st["month_spend_cents"] != centsOf(4*miniMicros) {
		t.Fatalf("budget before the records are written: %v, want %.4f cents", st, centsOf(4*miniMicros))
	}
	consumeCosts(t, connect(t, url), WriteCosts(e.store))
	waitCosts(t, e, "Developer", 4)
	waitCosts(t, e, "CodeReviewer", 4)
	rep := e.must(200, "GET", "/llm/costs", "")
	total := rep["total"].(map[string]any)
	if total["calls"] != float64(8) || total["cost_cents"] != centsOf(4*miniMicros+4*sonnetMicros) {
		t.Fatalf("GET /llm/costs total: %v", total)
	}
	for key, want := range map[string]float64{"Developer": 4, "CodeReviewer": 4, "claude": 4, "gpt": 4} {
		if got := e.must(200, "GET", "/llm/costs/"+key, "")["total"].(map[string]any)["calls"]; got != want {
			t.Fatalf("GET /llm/costs/%s: %v calls, want %v", key, got, want)
		}
	}
	code, csv := e.call(adminKey, "GET", "/llm/costs", "", "Accept", "text/csv")
	if code != 200 || strings.Count(strings.TrimSpace(csv), "\n") < 2 {
		t.Fatalf("CSV: %d %s", code, csv)
	}
	pub.Close() // the bus is gone: the next record is written at once
	e.must(200, "POST", "/llm/route", routeBody("Developer", "code"))
	if n, _ := countCosts(t, e, "Developer"); n != 5 {
		t.Fatalf("after a failed publish: %d records, want 5", n)
	}
}
