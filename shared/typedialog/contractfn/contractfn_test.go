package contractfn

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stratumiops/stratumiops/shared/typedialog/remote"
)

func handle(t *testing.T, c *Checker, req any) remote.ContractResult {
	t.Helper()
	payload, _ := json.Marshal(req)
	out, err := c.Handle(context.Background(), payload)
	if err != nil {
		t.Fatalf("%s: %v", payload, err)
	}
	var res remote.ContractResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	return res
}

func example(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../../../schemas/forms/examples/employee.cue")
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

const name = "schemas/forms/examples/employee.cue"

func valid() map[string]any {
	return map[string]any{"name": "Ada Lovelace", "email": "ada@example.org", "department": "engineering", "team_size": "small",
		"skills": []any{"go", "rust"}, "projects": []any{map[string]any{"project_name": "engine", "project_role": "lead"}}}
}

// The example contract compiles alone, passes valid answers (from the
// compiled contract the second time) and names each violated constraint by
// its field.
func TestChecksTheExampleContract(t *testing.T) {
	c, src := NewChecker(), example(t)
	if res := handle(t, c, remote.Request{Op: remote.OpCompile, Name: name, Source: src}); res.Problem != "" || len(res.Violations) > 0 {
		t.Fatalf("compile: %+v", res)
	}
	for range 2 {
		if res := handle(t, c, remote.Request{Op: remote.OpRun, Name: name, Source: src, Values: valid()}); res.Problem != "" || len(res.Violations) > 0 {
			t.Fatalf("valid answers: %+v", res)
		}
	}
	for _, idle := range c.compiled {
		if len(c.compiled) != 1 || len(idle) != 1 {
			t.Fatalf("compiled %d contracts, %d copies, want 1 of 1", len(c.compiled), len(idle))
		}
	}
	bad := valid()
	bad["department"], bad["skills"] = "sales", []any{"go", "cobol"}
	delete(bad, "team_size")
	res := handle(t, c, remote.Request{Op: remote.OpRun, Name: name, Source: src, Values: bad})
	paths := map[string]string{}
	for _, v := range res.Violations {
		paths[v.Path] = v.Message
	}
	if res.Problem != "" || len(res.Violations) != 2 || !strings.Contains(paths["department"], `"sales"`) ||
		!strings.Contains(paths["skills.1"], `"cobol"`) || strings.Contains(paths["department"], "empty disjunction") {
		t.Fatalf("violations: %+v", res)
	}
	// Engineering answers must name their team size (a conditional constraint).
	noTeam := valid()
	delete(noTeam, "team_size")
	res = handle(t, c, remote.Request{Op: remote.OpRun, Name: name, Source: src, Values: noTeam})
	if len(res.Violations) != 1 || res.Violations[0].Path != "team_size" {
		t.Fatalf("engineering without team_size: %+v", res)
	}
}

// Concurrent checks of one contract each get the right answer (each takes
// a compiled copy no other check is using).
func TestConcurrentChecks(t *testing.T) {
	c, src := NewChecker(), example(t)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for range 5 {
				values := valid()
				if i%2 == 1 {
					delete(values, "team_size")
				}
				payload, _ := json.Marshal(remote.Request{Op: remote.OpRun, Name: name, Source: src, Values: values})
				out, err := c.Handle(context.Background(), payload)
				var res remote.ContractResult
				if err != nil || json.Unmarshal(out, &res) != nil || (len(res.Violations) == 1) != (i%2 == 1) {
					t.Errorf("check %d: %s %v", i, out, err)
				}
			}
		})
	}
	wg.Wait()
}

// A contract that does not compile is a result naming its line, not an
// error; a malformed request is an error.
func TestABrokenContractNamesItsLine(t *testing.T) {
	c := NewChecker()
	res := handle(t, c, remote.Request{Op: remote.OpCompile, Name: "broken.cue", Source: "name: string\nemail: string &\n"})
	if res.Problem != "contract broken.cue does not parse: expected operand, found 'EOF': broken.cue:2:17" {
		t.Fatalf("broken contract: %+v", res)
	}
	res = handle(t, c, remote.Request{Op: remote.OpCompile, Name: "conflict.cue", Source: "a: 1\na: 2\n"})
	if !strings.Contains(res.Problem, "conflicting values 2 and 1: conflict.cue:1:4 conflict.cue:2:4") {
		t.Fatalf("conflicting contract: %+v", res)
	}
	for _, payload := range []string{`{`, `{"op":"delete","name":"x"}`, `{"op":"run"}`} {
		if _, err := c.Handle(context.Background(), []byte(payload)); err == nil {
			t.Errorf("%s: no error", payload)
		}
	}
}
