package llm

import (
	"encoding/csv"
	"strings"
	"testing"
)

// Bad input is a 4xx naming the problem, before any provider is called.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	p := setup(t, e)
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"claude","model":"claude-sonnet"}]}`)
	huge := strings.Repeat("word ", 200_000) // ~1 MB: over 128k tokens
	cases := []struct {
		name, method, path, body string
		status                   int
		mention                  string
	}{
		{"invalid regex", "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"claude","model":"claude-sonnet"},{"pattern":"(","provider":"claude","model":"claude-sonnet"}]}`, 400, "rule 1"},
		{"unknown provider", "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"nope","model":"m"}]}`, 400, `unknown provider \"nope\"`},
		{"unknown model", "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"claude","model":"gpt-9"}]}`, 400, `no model \"gpt-9\"`},
		{"unknown fallback", "PUT", "/llm/rules", `{"rules":[{"pattern":".*","provider":"claude","model":"claude-sonnet","fallback_chain":["x"]}]}`, 400, "fallback_chain"},
		{"rules missing", "PUT", "/llm/rules", `{}`, 400, "rules"},
		{"negative budget", "PUT", "/llm/budget/Developer", `{"monthly_limit_cents":-1}`, 400, "monthly_limit_cents"},
		{"fractional budget", "PUT", "/llm/budget/Developer", `{"monthly_limit_cents":10.5}`, 400, "monthly_limit_cents"},
		{"string budget", "PUT", "/llm/budget/Developer", `{"monthly_limit_cents":"10"}`, 400, "monthly_limit_cents"},
		{"negative weekly", "PUT", "/llm/budget/Developer", `{"monthly_limit_cents":10,"weekly_limit_cents":-2}`, 400, "weekly_limit_cents"},
		{"unknown role", "PUT", "/llm/budget/Janitor", `{"monthly_limit_cents":10}`, 400, "Janitor"},
		{"bad kind", "PUT", "/llm/providers/x", `{"kind":"mistral","models":{"m":{"input_cents_per_mtok":1,"output_cents_per_mtok":1}}}`, 400, "mistral"},
		{"bad name", "PUT", "/llm/providers/X%20Y", `{"kind":"openai","models":{"m":{"input_cents_per_mtok":1,"output_cents_per_mtok":1}}}`, 400, "provider name"},
		{"negative price", "PUT", "/llm/providers/x", `{"kind":"openai","models":{"m":{"input_cents_per_mtok":-1,"output_cents_per_mtok":1}}}`, 400, "negative"},
		{"bad url", "PUT", "/llm/providers/x", `{"kind":"openai","base_url":"ftp://x","models":{"m":{"input_cents_per_mtok":1,"output_cents_per_mtok":1}}}`, 400, "base_url"},
		{"no models", "PUT", "/llm/providers/x", `{"kind":"openai","models":{}}`, 400, "models"},
		{"bad route role", "POST", "/llm/route", strings.Replace(routeBody("Developer", "code"), "Developer", "Boss", 1), 400, "Boss"},
		{"bad message role", "POST", "/llm/route", `{"role":"Developer","task_type":"code","messages":[{"role":"tool","content":"x"}],"max_tokens":10}`, 400, "messages[0].role"},
		{"no max_tokens", "POST", "/llm/route", `{"role":"Developer","task_type":"code","messages":[{"role":"user","content":"x"}]}`, 400, "max_tokens"},
		{"over context", "POST", "/llm/route", `{"role":"Developer","task_type":"code","messages":[{"role":"user","content":"` + huge + `"}],"max_tokens":10}`, 400, "context"},
		{"bad report date", "GET", "/llm/costs?from=yesterday", "", 400, "from"},
		{"bad report key", "GET", "/llm/costs/Not%20A%20Key", "", 400, "neither a role"},
	}
	for _, c := range cases {
		code, body := e.call(adminKey, c.method, c.path, c.body)
		if code != c.status || !strings.Contains(body, c.mention) {
			t.Errorf("%s: %d %s, want %d mentioning %q", c.name, code, body, c.status, c.mention)
		}
	}
	if n := p.claude.Requests.Load(); n != 0 {
		t.Errorf("%d provider calls for bad input", n)
	}
	for _, c := range [][2]string{{"PUT", "/llm/rules"}, {"PUT", "/llm/providers/x"}, {"PUT", "/llm/budget/Developer"}, {"POST", "/llm/route"}, {"GET", "/llm/costs"}} {
		if code, _ := e.call(readerKey, c[0], c[1], `{}`); code != 403 {
			t.Errorf("%s %s without the llm scope: %d, want 403", c[0], c[1], code)
		}
	}
	if code, _ := e.call("", "GET", "/llm/providers", ""); code != 401 {
		t.Errorf("no credentials: %d", code)
	}
}

// Cost reports: totals by role, provider, model and day; by one role or
// one provider; CSV.
func TestCostReports(t *testing.T) {
	e := newEnv(t)
	setup(t, e)
	e.must(200, "PUT", "/llm/rules", `{"rules":[{"pattern":"^code","provider":"claude","model":"claude-sonnet"},{"pattern":".*","provider":"gpt","model":"gpt-mini"}]}`)
	for _, c := range [][2]string{{"Developer", "code"}, {"Developer", "code"}, {"Developer", "docs"}, {"Tester", "docs"}} {
		e.must(200, "POST", "/llm/route", routeBody(c[0], c[1]))
	}
	rep := e.must(200, "GET", "/llm/costs", "")
	total := rep["total"].(map[string]any)
	if total["calls"] != 4.0 || total["cost_cents"] != 2.19 || len(rep["by_role"].([]any)) != 2 ||
		len(rep["by_provider"].([]any)) != 2 || len(rep["by_day"].([]any)) != 1 {
		t.Fatalf("report: %v", rep)
	}
	dev := e.must(200, "GET", "/llm/costs/Developer", "")
	if dev["key_kind"] != "role" || dev["total"].(map[string]any)["calls"] != 3.0 {
		t.Fatalf("by role: %v", dev)
	}
	gpt := e.must(200, "GET", "/llm/costs/gpt", "")
	if gpt["key_kind"] != "provider" || gpt["total"].(map[string]any)["cost_cents"] != 0.09 {
		t.Fatalf("by provider: %v", gpt)
	}
	if none := e.must(200, "GET", "/llm/costs?from=2000-01-01&to=2000-01-31", ""); none["total"].(map[string]any)["calls"] != 0.0 {
		t.Fatalf("empty range: %v", none)
	}
	code, body := e.call(adminKey, "GET", "/llm/costs", "", "Accept", "text/csv")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil || len(rows) != 4 || strings.Join(rows[0], ",") != "day,role,provider,model,calls,input_tokens,output_tokens,cost_cents" {
		t.Fatalf("csv: %d %v %q", code, err, body)
	}
}
