package llm

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/vapora/llm/llmtest"
)

// BenchmarkRouterOverhead paces 200 calls a second to a local provider that
// answers at once, directly (the Caller alone) and through Router.Route
// with budget enforcement on, and reports both p50 and p99 and their
// difference: the router's overhead (rules, budget sum, key, cost record).
//
//	go test ./shared/vapora/llm -run '^$' -bench RouterOverhead -benchtime 1x
func BenchmarkRouterOverhead(b *testing.B) {
	e := newEnv(b)
	srv := llmtest.New(KindOpenAI, "sk-bench")
	defer srv.Close()
	e.provider("gpt", KindOpenAI, srv.URL, "sk-bench", map[string][2]int64{"gpt-mini": {15, 60}})
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"gpt","model":"gpt-mini"}]}`)
	e.must(200, "PUT", "/llm/budget/Monitor", `{"monthly_limit_cents":100000000}`)
	snap, _ := e.router.config(context.Background())
	p := snap.providers["gpt"]
	msgs := []Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "write the release notes"}}
	key, err := e.router.key(context.Background(), p.KeyRef)
	if err != nil {
		b.Fatal(err)
	}
	const rate, n = 200, 1000
	direct := pace(rate, n, func() error {
		_, err := e.router.caller.Call(context.Background(), p, key, Request{Model: "gpt-mini", Messages: msgs, MaxTokens: 200})
		return err
	})
	routed := pace(rate, n, func() error {
		_, err := e.router.Route(context.Background(), RouteRequest{Role: "Monitor", TaskType: "notes", Messages: msgs, MaxTokens: 200})
		return err
	})
	d50, d99 := direct[n/2], direct[n*99/100]
	r50, r99 := routed[n/2], routed[n*99/100]
	b.ReportMetric(float64(r50-d50)/1e6, "overhead-p50-ms")
	b.ReportMetric(float64(r99-d99)/1e6, "overhead-p99-ms")
	fmt.Printf("direct p50 %s p99 %s; routed p50 %s p99 %s; overhead p50 %s p99 %s; ratio p50 %.2fx p99 %.2fx\n",
		d50, d99, r50, r99, r50-d50, r99-d99, float64(r50)/float64(d50), float64(r99)/float64(d99))
}

// pace runs op rate times a second, n times (open loop), and returns the sorted latencies.
func pace(rate, n int, op func() error) []time.Duration {
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	for i := range n {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			if err := op(); err != nil {
				lat[i] = time.Hour // a failure counts as the slowest call
				return
			}
			lat[i] = time.Since(t)
		}()
	}
	wg.Wait()
	slices.Sort(lat)
	return lat
}
