package e2e

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	bao "github.com/openbao/openbao/api/v2"

	"github.com/stratumiops/stratumiops/shared/vapora/llm"
	"github.com/stratumiops/stratumiops/shared/vapora/llm/llmtest"
)

// Vapora's LLM router through its gateway: two providers served locally in
// their own wire formats, routing by rule, fallback on 429, the cheaper
// model from 80 % of a budget, 402 from 100 %, and a task assigned to a
// built-in agent done, paid for and moved to Review.
func TestLLM(t *testing.T) {
	if ep.JWTSecret == "" || ep.Gateways["vapora"] == "" {
		t.Skip("the target has no devstack credentials to sign callers with")
	}
	claude, gpt := llmtest.New("anthropic", "sk-ant-e2e"), llmtest.New("openai", "sk-oa-e2e")
	defer claude.Close()
	defer gpt.Close()
	ops := jwtCaller(t, "ops", "llm", "agents", "acme")
	run := unique("llm")
	pc, pg := run+"-claude", run+"-gpt"
	ops.must(200, "PUT", "/llm/providers/"+pc, fmt.Sprintf(`{"kind":"anthropic","base_url":%q,"api_key":"sk-ant-e2e",
		"models":{"claude-sonnet":{"input_cents_per_mtok":300,"output_cents_per_mtok":1500}},"timeout_ms":5000}`, claude.URL))
	ops.must(200, "PUT", "/llm/providers/"+pg, fmt.Sprintf(`{"kind":"openai","base_url":%q,"api_key":"sk-oa-e2e",
		"models":{"gpt-mini":{"input_cents_per_mtok":15,"output_cents_per_mtok":60}},"timeout_ms":5000}`, gpt.URL+"/v1"))
	ops.must(200, "PUT", "/llm/rules", fmt.Sprintf(`{"rules":[
		{"pattern":"^code","provider":%q,"model":"claude-sonnet","fallback_chain":[%q]},
		{"pattern":".*","provider":%q,"model":"gpt-mini","fallback_chain":[]}]}`, pc, pg, pg))
	route := func(role, taskType string) map[string]any {
		return ops.must(200, "POST", "/llm/route", fmt.Sprintf(`{"role":%q,"task_type":%q,"agent_id":"e2e",
			"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"write it"}],"max_tokens":500}`, role, taskType))
	}

	t.Run("routes by rule and falls back on 429", func(t *testing.T) {
		if r := route("Developer", "code-review"); r["provider"] != pc || r["cost_cents"] != 1.05 || r["output"] != "done by anthropic" {
			t.Fatalf("code-review: %v", r)
		}
		if r := route("Developer", "docs"); r["provider"] != pg || r["model"] != "gpt-mini" {
			t.Fatalf("docs: %v", r)
		}
		claude.Script(llmtest.RateLimit)
		r := route("Developer", "code-gen")
		attempts, _ := r["attempts"].([]any)
		if r["provider"] != pg || len(attempts) != 2 || attempts[0].(map[string]any)["outcome"] != "rate_limited" {
			t.Fatalf("fallback on 429: %v", r)
		}
		if bad := append(claude.Bad(), gpt.Bad()...); len(bad) > 0 {
			t.Fatalf("requests the real APIs would refuse: %v", bad)
		}
	})

	t.Run("budget: cheaper model from 80 %, 402 from 100 %", func(t *testing.T) {
		const role = "Documenter"
		spent := ops.must(200, "GET", "/llm/budget/"+role, "")["month_spend_cents"].(float64)
		limit := int(math.Ceil(spent)) + 10
		ops.must(200, "PUT", "/llm/budget/"+role, fmt.Sprintf(`{"monthly_limit_cents":%d}`, limit))
		sawNear := false
		for i := 0; i < 20 && !sawNear; i++ {
			st := ops.must(200, "GET", "/llm/budget/"+role, "")
			r := route(role, "code")
			if st["enforcement"] == "NearThreshold" {
				if r["provider"] != pg || r["model"] != "gpt-mini" || r["budget"] != "NearThreshold" {
					t.Fatalf("past 80 %%: %v (status %v)", r, st)
				}
				sawNear = true
			} else if r["provider"] != pc {
				t.Fatalf("below 80 %%: %v", r)
			}
		}
		if !sawNear {
			t.Fatal("never reached NearThreshold")
		}
		spent = ops.must(200, "GET", "/llm/budget/"+role, "")["month_spend_cents"].(float64)
		ops.must(200, "PUT", "/llm/budget/"+role, fmt.Sprintf(`{"monthly_limit_cents":%d}`, int(spent)))
		r := ops.do("POST", "/llm/route", `{"role":"Documenter","task_type":"code","messages":[{"role":"user","content":"x"}],"max_tokens":10}`)
		msg := fmt.Sprint(r.Body["error"])
		if r.Status != 402 || !strings.Contains(msg, role) || !strings.Contains(msg, fmt.Sprintf("limit %d cents", int(spent))) {
			t.Fatalf("past 100 %%: %d %v", r.Status, r.Body)
		}
	})

	t.Run("a task assigned to a built-in agent reaches Review with output, tokens and cost", func(t *testing.T) {
		agent, scope := run+"-builtin", run+"-team"
		team := jwtCaller(t, "ops", "llm", "agents", scope)
		seeded := seedKnowledge(t, scope, run)
		team.must(201, "POST", "/agents/register", fmt.Sprintf(`{"agent_id":%q,"role":"Developer","runner":"builtin"}`, agent))
		pid := team.must(201, "POST", "/projects", fmt.Sprintf(`{"name":"llm-run","scope":%q}`, scope))["id"].(string)
		task := team.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"add a retry","description":"wrap the call"}`, pid))["id"].(string)
		team.must(200, "POST", "/tasks/"+task+"/assign", fmt.Sprintf(`{"agent_id":%q,"task_type":"code-gen"}`, agent))
		eventually(t, "the task in Review", 20*time.Second, func() bool {
			return team.must(200, "GET", "/tasks/"+task, "")["status"] == "Review"
		})
		var prompt string
		for _, body := range claude.Received() {
			if strings.Contains(body, "add a retry") {
				prompt = body
			}
		}
		for _, want := range seeded {
			if !strings.Contains(prompt, want) {
				t.Errorf("the prompt lacks Kogral's %q:\n%s", want, prompt)
			}
		}
		if strings.Contains(prompt, run+" other team") {
			t.Errorf("the prompt holds another graph's guideline:\n%s", prompt)
		}
		var rec map[string]any
		eventually(t, "the execution record", 10*time.Second, func() bool {
			list, _ := jwtCallerOf(t, "portfolio", "ops", scope).do("GET", "/executions?project="+pid, "").Body["executions"].([]any)
			for _, e := range list {
				if md, _ := e.(map[string]any)["metadata"].(map[string]any); md["task_id"] == task {
					rec = md
				}
			}
			return rec != nil
		})
		if rec["output"] != "done by anthropic" || rec["input_tokens"] != 1000.0 || rec["output_tokens"] != 500.0 ||
			rec["cost_cents"] != 1.05 || rec["tokens"] != 1500.0 {
			t.Fatalf("execution record: %v", rec)
		}
	})

	t.Run("reports", func(t *testing.T) {
		rep := ops.must(200, "GET", "/llm/costs/"+pc, "")
		if rep["key_kind"] != "provider" || rep["total"].(map[string]any)["calls"].(float64) < 3 {
			t.Fatalf("by provider: %v", rep)
		}
		providers := ops.do("GET", "/llm/providers", "")
		if s := fmt.Sprint(providers.Body); strings.Contains(s, "sk-ant-e2e") || !strings.Contains(s, pc) {
			t.Fatalf("providers: %v", s)
		}
	})
}

// seedKnowledge writes to Kogral a guideline, a pattern and a decision about
// code generation in scope's graph and a guideline in another team's, and
// waits until Kogral's search finds them; it returns the contents a prompt
// for a code-gen task of scope must carry.
func seedKnowledge(t *testing.T, scope, run string) []string {
	t.Helper()
	if ep.Gateways["kogral"] == "" {
		t.Skip("the target has no Kogral")
	}
	nodes := []struct{ graph, typ, title, content string }{
		{scope, "guideline", "Retries in generated code", "Every retry uses jittered exponential backoff " + run},
		{scope, "pattern", "Retry wrapper for generated code", "Wrap each retry in a helper that takes a context " + run},
		{scope, "decision", "Generated code retries idempotent calls only", "Decided: a retry is for idempotent calls only " + run},
		{run + "-other", "guideline", "Retries in generated code", "Never retry anything " + run + " other team"},
	}
	for i, n := range nodes {
		body := fmt.Sprintf(`{"id":"%s.know-%d","node_type":%q,"title":%q,"content":%q,"graph_id":%q,"tags":["code-gen"]}`,
			n.graph, i, n.typ, n.title, n.content, n.graph)
		jwtCallerOf(t, "kogral", "seeder", n.graph).must(201, "POST", "/nodes", body)
	}
	reader := jwtCallerOf(t, "kogral", "seeder", scope)
	eventually(t, "Kogral finds the seeded knowledge", 20*time.Second, func() bool {
		hits, _ := reader.must(200, "GET", "/search?graph="+scope+"&q=code-gen+retry", "")["hits"].([]any)
		return len(hits) == 3
	})
	return []string{nodes[0].content, nodes[1].content, nodes[2].content}
}

// Providers' API keys kept in SecretumVault's KV v2, through its
// Vault-compatible API: each write is a version the reference names.
func TestLLMVaultKeys(t *testing.T) {
	root := unsealedRoot(t)
	mount := strings.ToLower(unique("llmkeys"))
	if err := root.Sys().MountWithContext(ctx(t), mount, &bao.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	keys, err := llm.NewVaultKeys(ep.Gateways["vault"], root.Token(), mount)
	if err != nil {
		t.Fatal(err)
	}
	first, err := keys.Seal(ctx(t), "claude", "sk-first")
	if err != nil {
		t.Fatal(err)
	}
	second, err := keys.Seal(ctx(t), "claude", "sk-second")
	if err != nil || first == second || strings.Contains(first+second, "sk-") {
		t.Fatalf("references %q %q: %v", first, second, err)
	}
	for ref, want := range map[string]string{first: "sk-first", second: "sk-second"} {
		if got, err := keys.Open(ctx(t), ref); err != nil || got != want {
			t.Errorf("open %s: %q, %v; want %q", ref, got, err, want)
		}
	}
	if _, err := (&llm.VaultKeys{}).Open(ctx(t), "kms:x:y"); err == nil {
		t.Error("a kms reference opened as a vault one")
	}
}
