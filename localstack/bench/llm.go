package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/vapora/llm/llmtest"
)

// llmRate is the paced load of the router scenario, per second.
const llmRate = 200

// benchLLM measures the LLM router's overhead: the same local provider
// (OpenAI's wire format, answering at once) called directly and through
// POST /llm/route on the gateway, at llmRate requests per second each, with
// budget enforcement on (the role has a budget, so every route sums its spend).
func benchLLM(ep devstack.Endpoints, duration time.Duration) ([]result, error) {
	srv := llmtest.New("openai", "sk-bench")
	defer srv.Close()
	auth, err := principal.New(principal.Config{JWTSecret: ep.JWTSecret}.ForSystem("vapora"))
	if err != nil {
		return nil, err
	}
	tok, err := auth.Issue("bench", []string{"llm"}, time.Hour)
	if err != nil {
		return nil, err
	}
	hc := keepAliveClient(64)
	gw := func(method, path, body string) (int, error) {
		return post(hc, method, ep.Gateways["vapora"]+path, body, "Authorization", "Bearer "+tok)
	}
	name := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	for _, c := range [][2]string{
		{"/llm/providers/" + name, fmt.Sprintf(`{"kind":"openai","base_url":%q,"api_key":"sk-bench","models":{"gpt-mini":{"input_cents_per_mtok":15,"output_cents_per_mtok":60}}}`, srv.URL)},
		{"/llm/rules", fmt.Sprintf(`{"rules":[{"pattern":".*","provider":%q,"model":"gpt-mini"}]}`, name)},
		{"/llm/budget/Monitor", `{"monthly_limit_cents":100000000}`},
	} {
		if code, err := gw("PUT", c[0], c[1]); err != nil || code != 200 {
			return nil, fmt.Errorf("PUT %s: %d %v", c[0], code, err)
		}
	}
	msgs := `[{"role":"system","content":"be brief"},{"role":"user","content":"write the release notes"}]`
	var routedOK atomic.Int64
	// Both at llmRate on one clock, alternating, so a stall of this shared
	// machine falls on both alike: the overhead is their difference.
	runs := pacedTogether(duration, pacedOp{"llm direct (provider)", func() error {
		_, err := post(hc, "POST", srv.URL+"/chat/completions", `{"model":"gpt-mini","messages":`+msgs+`,"max_completion_tokens":200}`,
			"Authorization", "Bearer sk-bench")
		return err
	}}, pacedOp{"llm routed (gateway)", func() error {
		code, err := gw("POST", "/llm/route", `{"role":"Monitor","task_type":"notes","messages":`+msgs+`,"max_tokens":200}`)
		if err == nil && code != 200 {
			err = fmt.Errorf("route: %d", code)
		}
		if err == nil {
			routedOK.Add(1)
		}
		return err
	}})
	direct, routed := runs[0], runs[1]
	if err := waitCostRecords(hc, ep.Gateways["vapora"], tok, routedOK.Load()); err != nil {
		return nil, err
	}
	routed.p99Target = 5*time.Millisecond + direct.p99
	fmt.Printf("(llm router overhead at %d req/s with budget enforcement: p50 %s (target ≤ 2ms), p99 %s (target ≤ 5ms); routed/direct p50 %.2fx, p99 %.2fx)\n",
		llmRate, (routed.p50 - direct.p50).Round(10*time.Microsecond), (routed.p99 - direct.p99).Round(10*time.Microsecond),
		float64(routed.p50)/float64(direct.p50), float64(routed.p99)/float64(direct.p99))
	return []result{direct, routed}, nil
}

// waitCostRecords waits until the cost reports hold a record for each
// routed call (vapora-llm-on-cost writes them after the route answers) and
// says how long after the run the last one was there.
func waitCostRecords(hc *http.Client, gateway, tok string, want int64) error {
	start := time.Now()
	for {
		req, _ := http.NewRequest("GET", gateway+"/llm/costs/Monitor", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		var rep struct {
			Total struct {
				Calls int64 `json:"calls"`
			} `json:"total"`
		}
		res, err := hc.Do(req)
		if err == nil {
			err = json.NewDecoder(res.Body).Decode(&rep)
			res.Body.Close()
		}
		if err == nil && rep.Total.Calls >= want {
			fmt.Printf("(llm cost records: %d of %d routed calls in the reports %s after the run)\n", rep.Total.Calls, want,
				time.Since(start).Round(time.Millisecond))
			return nil
		}
		if time.Since(start) > time.Minute {
			return fmt.Errorf("llm cost records: %d of %d routed calls in the reports after a minute (%v)", rep.Total.Calls, want, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// paced calls op llmRate times a second for d (open loop: a slow call does
// not delay the next) and collects the latencies.
// pacedOp is one operation of a paced run.
type pacedOp struct {
	name string
	op   func() error
}

// pacedTogether starts each op llmRate times a second for d, the ops in
// turn on one clock (each call on its own goroutine, as independent callers
// would), and gives each op's figures.
func pacedTogether(d time.Duration, ops ...pacedOp) []result {
	n := int(d.Seconds()*llmRate) * len(ops)
	lat := make([]time.Duration, n)
	errs := make([]atomic.Int64, len(ops))
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(llmRate*len(ops)))
	defer tick.Stop()
	start := time.Now()
	for i := range n {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.Now()
			if ops[i%len(ops)].op() != nil {
				errs[i%len(ops)].Add(1)
			}
			lat[i] = time.Since(t)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	out := make([]result, len(ops))
	for k, o := range ops {
		var mine []time.Duration
		for i := k; i < n; i += len(ops) {
			mine = append(mine, lat[i])
		}
		out[k] = summarize(o.name, [][]time.Duration{mine}, elapsed, errs[k].Load())
	}
	return out
}

func post(hc *http.Client, method, url, body string, header ...string) (int, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	var v any
	_ = json.NewDecoder(res.Body).Decode(&v)
	return res.StatusCode, nil
}
