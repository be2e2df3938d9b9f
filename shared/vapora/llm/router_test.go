package llm

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/vapora/llm/llmtest"
)

// Prices: claude-sonnet 300/1500 cents per Mtok, gpt-mini 15/60. The local
// servers answer 1000 input and 500 output tokens, so a call costs 1.05
// cents on claude-sonnet and 0.045 on gpt-mini.
const sonnetMicros, miniMicros = 1000*300 + 500*1500, 1000*15 + 500*60

type providers struct{ claude, gpt, local *llmtest.Server }

func setup(t *testing.T, e *env) providers {
	p := providers{claude: llmtest.New(KindAnthropic, "sk-ant-test"), gpt: llmtest.New(KindOpenAI, "sk-oa-test"),
		local: llmtest.New(KindOllama, "")}
	t.Cleanup(func() { p.claude.Close(); p.gpt.Close(); p.local.Close() })
	e.provider("claude", KindAnthropic, p.claude.URL, "sk-ant-test", map[string][2]int64{"claude-sonnet": {300, 1500}})
	e.provider("gpt", KindOpenAI, p.gpt.URL+"/v1", "sk-oa-test", map[string][2]int64{"gpt-mini": {15, 60}})
	e.provider("local", KindOllama, p.local.URL, "", map[string][2]int64{"llama3": {0, 0}})
	return p
}

func attempts(res map[string]any) []map[string]any {
	var out []map[string]any
	for _, a := range res["attempts"].([]any) {
		out = append(out, a.(map[string]any))
	}
	return out
}

// Rules pick the provider by task type (first match wins), the chain falls
// back on 429, a malformed reply and a timeout, each attempt is recorded,
// and all failing is a 502 listing every attempt.
func TestRouteByRuleWithFallback(t *testing.T) {
	e := newEnv(t)
	p := setup(t, e)
	e.must(200, "PUT", "/llm/rules", `{"rules":[
		{"pattern":"^code","provider":"claude","model":"claude-sonnet","fallback_chain":["gpt"]},
		{"pattern":".*","provider":"gpt","model":"gpt-mini","fallback_chain":[]}]}`)

	res := e.must(200, "POST", "/llm/route", routeBody("Developer", "code-review"))
	if res["provider"] != "claude" || res["model"] != "claude-sonnet" || res["output"] != "done by anthropic" ||
		res["input_tokens"] != 1000.0 || res["output_tokens"] != 500.0 || res["cost_cents"] != 1.05 || res["budget"] != Normal {
		t.Fatalf("routed: %v", res)
	}
	if res := e.must(200, "POST", "/llm/route", routeBody("Developer", "docs")); res["provider"] != "gpt" {
		t.Fatalf("catch-all: %v", res)
	}
	for _, mode := range []string{llmtest.RateLimit, llmtest.Malformed, llmtest.Slow, llmtest.ServerErr} {
		p.claude.Script(mode)
		res := e.must(200, "POST", "/llm/route", routeBody("Developer", "code-gen"))
		as := attempts(res)
		if res["provider"] != "gpt" || len(as) != 2 || as[0]["outcome"] == "ok" || as[1]["outcome"] != "ok" {
			t.Fatalf("%s: fallback %v", mode, res)
		}
		if mode == llmtest.RateLimit && (as[0]["outcome"] != "rate_limited" || as[0]["retry_after"] != "7") {
			t.Errorf("429 attempt: %v", as[0])
		}
	}
	p.claude.Script(llmtest.ServerErr)
	p.gpt.Script(llmtest.RateLimit)
	code, body := e.call(adminKey, "POST", "/llm/route", routeBody("Developer", "code-gen"))
	var failed struct {
		Attempts []Attempt `json:"attempts"`
	}
	_ = json.Unmarshal([]byte(body), &failed)
	if code != 502 || len(failed.Attempts) != 2 || failed.Attempts[0].HTTPStatus != 500 || failed.Attempts[1].HTTPStatus != 429 {
		t.Fatalf("all failing: %d %s", code, body)
	}
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":"^code","provider":"claude","model":"claude-sonnet"}]}`)
	if code, body := e.call(adminKey, "POST", "/llm/route", routeBody("Developer", "docs")); code != 422 || !strings.Contains(body, "docs") {
		t.Fatalf("no rule: %d %s", code, body)
	}
	// Six successful calls, one cost record each.
	n, spent := countCosts(t, e, "Developer")
	if n != 6 || spent != sonnetMicros+5*miniMicros {
		t.Fatalf("cost records: %d, %d micros", n, spent)
	}
	var prov map[string]any
	_, raw := e.call(adminKey, "GET", "/llm/providers", "")
	_ = json.Unmarshal([]byte(raw), &prov)
	if strings.Contains(raw, "sk-ant-test") || strings.Contains(raw, "sk-oa-test") || !strings.Contains(raw, `"has_key":true`) ||
		!strings.Contains(raw, "last_failure") {
		t.Fatalf("GET /llm/providers: %s", raw)
	}
}

func countCosts(t testing.TB, e *env, role string) (int, int64) {
	rows, err := e.store.CostRows(context.Background(), "2000-01-01", "2999-12-31", role, "")
	if err != nil {
		t.Fatal(err)
	}
	var n, micros int64
	for _, r := range rows {
		n += r.Calls
		micros += r.Micros
	}
	return int(n), micros
}

// Budgets: Normal below 80 %, the cheapest model of the chain from 80 %,
// 402 naming role, limit and spend from 100 %, a local model when allowed.
func TestBudgetEnforcement(t *testing.T) {
	e := newEnv(t)
	setup(t, e)
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"claude","model":"claude-sonnet","fallback_chain":["gpt"]}]}`)
	e.must(200, "PUT", "/llm/budget/Developer", `{"monthly_limit_cents":10}`)
	// 8 calls on claude: 8.4 cents, past 80 %.
	for i := 0; i < 8; i++ {
		if res := e.must(200, "POST", "/llm/route", routeBody("Developer", "code")); res["provider"] != "claude" || res["budget"] != Normal {
			t.Fatalf("call %d below 80 %%: %v", i, res)
		}
	}
	if st := e.must(200, "GET", "/llm/budget/Developer", ""); st["enforcement"] != NearThreshold || st["month_spend_cents"] != 8.4 {
		t.Fatalf("budget status: %v", st)
	}
	res := e.must(200, "POST", "/llm/route", routeBody("Developer", "code"))
	if res["provider"] != "gpt" || res["model"] != "gpt-mini" || res["budget"] != NearThreshold {
		t.Fatalf("from 80 %%: %v", res)
	}
	// Another role is not affected.
	if res := e.must(200, "POST", "/llm/route", routeBody("Tester", "code")); res["provider"] != "claude" {
		t.Fatalf("Tester: %v", res)
	}
	e.must(200, "PUT", "/llm/budget/Developer", `{"monthly_limit_cents":8}`)
	code, body := e.call(adminKey, "POST", "/llm/route", routeBody("Developer", "code"))
	if code != 402 || !strings.Contains(body, "Developer") || !strings.Contains(body, "limit 8 cents") || !strings.Contains(body, "8.445") {
		t.Fatalf("from 100 %%: %d %s", code, body)
	}
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"claude","model":"claude-sonnet","fallback_chain":["gpt","local"],"allow_local_when_exceeded":true}]}`)
	if res := e.must(200, "POST", "/llm/route", routeBody("Developer", "code")); res["provider"] != "local" || res["budget"] != Exceeded {
		t.Fatalf("local when exceeded: %v", res)
	}
	// A weekly limit counts too.
	e.must(200, "PUT", "/llm/budget/Tester", `{"monthly_limit_cents":1000,"weekly_limit_cents":1}`)
	if code, body := e.call(adminKey, "POST", "/llm/route", routeBody("Tester", "code")); code != 200 || !strings.Contains(body, `"budget":"Exceeded"`) {
		t.Fatalf("weekly: %d %s", code, body)
	}
}

// 1 000 concurrent routed calls for one role leave exactly 1 000 cost
// records and a spend equal to their sum.
func TestConcurrentSpendIsExact(t *testing.T) {
	e := newEnv(t)
	p := setup(t, e)
	e.must(200, "PUT", "/llm/providers/gpt", `{"kind":"openai","base_url":"`+p.gpt.URL+`","api_key":"sk-oa-test",
		"models":{"gpt-mini":{"input_cents_per_mtok":15,"output_cents_per_mtok":60}},"timeout_ms":60000}`)
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"gpt","model":"gpt-mini"}]}`)
	e.must(200, "PUT", "/llm/budget/Developer", `{"monthly_limit_cents":1000000}`)
	var wg sync.WaitGroup
	var sum, failed atomic.Int64
	req := RouteRequest{Role: "Developer", TaskType: "code", Messages: []Message{{Role: "user", Content: "x"}}, MaxTokens: 10}
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := e.router.Route(context.Background(), req)
			if err != nil {
				failed.Add(1)
				t.Log(err)
				return
			}
			sum.Add(int64(res.CostCents*1e6 + 0.5))
		}()
	}
	wg.Wait()
	n, micros := countCosts(t, e, "Developer")
	monthly, _, err := e.store.Spend(context.Background(), "Developer", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tracked, _, err := e.router.spend.spend(context.Background(), "Developer", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if failed.Load() != 0 || n != 1000 || micros != sum.Load() || monthly != 1000*miniMicros || tracked != monthly {
		t.Fatalf("failed %d, records %d, summed %d, answered %d, spend %d, tracked %d", failed.Load(), n, micros, sum.Load(), monthly, tracked)
	}
}

// A budget crossed by concurrent calls lets through at most the calls in
// flight when it was crossed: with C workers, at most ceil(limit/cost)+C-1 calls.
func TestBudgetCrossingBound(t *testing.T) {
	e := newEnv(t)
	setup(t, e)
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"claude","model":"claude-sonnet"}]}`)
	e.must(200, "PUT", "/llm/budget/Architect", `{"monthly_limit_cents":20}`) // crossed by the 20th call (21 cents)
	const workers = 16
	var wg sync.WaitGroup
	var ok, refused atomic.Int64
	req := RouteRequest{Role: "Architect", TaskType: "design", Messages: []Message{{Role: "user", Content: "x"}}, MaxTokens: 10}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				if _, err := e.router.Route(context.Background(), req); err == nil {
					ok.Add(1)
				} else {
					refused.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	n, _ := countCosts(t, e, "Architect")
	if int64(n) != ok.Load() || n < 20 || n > 20+workers-1 {
		t.Fatalf("%d calls went through (%d records), %d refused; want 20–%d", ok.Load(), n, refused.Load(), 20+workers-1)
	}
	t.Logf("limit crossed at call 20; %d calls went through with %d workers", n, workers)
}

// Another instance (a second router over the same database) sees a role's
// spend exactly on its first call, and the other instance's later calls
// within the refresh bound.
func TestSpendAcrossInstances(t *testing.T) {
	e := newEnv(t)
	setup(t, e)
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"gpt","model":"gpt-mini"}]}`)
	req := RouteRequest{Role: "Security", TaskType: "audit", Messages: []Message{{Role: "user", Content: "x"}}, MaxTokens: 10}
	for i := 0; i < 10; i++ {
		if _, err := e.router.Route(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	other := NewRouter(e.store, nil, NewCaller())
	if got, _, err := other.spend.spend(context.Background(), "Security", time.Now()); err != nil || got != 10*miniMicros {
		t.Fatalf("first read: %d, %v", got, err)
	}
	for i := 0; i < 5; i++ {
		if _, err := e.router.Route(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(staleMax + time.Second)
	for {
		got, _, err := other.spend.spend(context.Background(), "Security", time.Now())
		if err == nil && got == 15*miniMicros {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s the other instance sees %d, want %d (%v)", staleMax, got, 15*miniMicros, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
