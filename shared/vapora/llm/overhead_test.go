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
// answers at once, directly (the Caller alone), through Router.Route with
// budget enforcement on writing each cost record before it answers, and
// through a router that publishes them (vapora-llm-on-cost writing them
// meanwhile), and reports p50 and p99 and their differences with the
// direct calls: the router's overhead (rules, budget, key, cost record).
// Each series is run twice, interleaved, on the same load.
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
	url := natsServer(b)
	published := NewRouter(e.store, e.router.keys, NewCaller()).PublishCosts(connect(b, url))
	consumeCosts(b, connect(b, url), WriteCosts(e.store))
	const rate, n = 200, 1000
	req := RouteRequest{Role: "Monitor", TaskType: "notes", Messages: msgs, MaxTokens: 200}
	series := map[string]func() error{
		"direct": func() error {
			_, err := e.router.caller.Call(context.Background(), p, key, Request{Model: "gpt-mini", Messages: msgs, MaxTokens: 200})
			return err
		},
		"written":   func() error { _, err := e.router.Route(context.Background(), req); return err },
		"published": func() error { _, err := published.Route(context.Background(), req); return err },
	}
	lat := map[string][]time.Duration{}
	for range 2 {
		for _, name := range []string{"direct", "written", "published"} {
			lat[name] = append(lat[name], pace(rate, n, series[name])...)
		}
	}
	pct := func(name string, q int) time.Duration {
		l := lat[name]
		slices.Sort(l)
		return l[len(l)*q/100]
	}
	d50, d99 := pct("direct", 50), pct("direct", 99)
	fmt.Printf("direct p50 %s p99 %s\n", d50, d99)
	for _, name := range []string{"written", "published"} {
		r50, r99 := pct(name, 50), pct(name, 99)
		b.ReportMetric(float64(r50-d50)/1e6, name+"-overhead-p50-ms")
		b.ReportMetric(float64(r99-d99)/1e6, name+"-overhead-p99-ms")
		fmt.Printf("%s: p50 %s p99 %s; overhead p50 %s p99 %s; ratio p50 %.2fx p99 %.2fx\n", name, r50, r99,
			r50-d50, r99-d99, float64(r50)/float64(d50), float64(r99)/float64(d99))
	}
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
