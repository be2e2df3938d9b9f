package provisioning

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func fiveTasks() Workflow {
	return Workflow{Name: "demo", Environment: "development", Defaults: Defaults{Provider: "local"}, Tasks: []Task{
		{ID: "net", Kind: "network"},
		{ID: "web", Kind: "server", Spec: json.RawMessage(`{"os":{"family":"ubuntu","version":"24.04"}}`), DependsOn: []string{"net"}},
		{ID: "db", Kind: "server", Spec: json.RawMessage(`{"cpu":4,"os":{"family":"debian","version":"12"}}`), DependsOn: []string{"net"}},
		{ID: "data", Kind: "storage", Spec: json.RawMessage(`{"size_gb":1,"attach_to":"db"}`), DependsOn: []string{"db"}},
		{ID: "app", Kind: "service", Spec: json.RawMessage(`{"server":"web"}`), DependsOn: []string{"web", "data"}},
	}}
}

func TestPrepareAppliesDefaultsAndWaves(t *testing.T) {
	p, err := Prepare(fiveTasks())
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Order, ","); got != "net,web,db,data,app" {
		t.Fatalf("order %s", got)
	}
	if len(p.Waves) != 4 || strings.Join(p.Waves[1], ",") != "web,db" {
		t.Fatalf("waves %v", p.Waves)
	}
	web, _ := p.Task("web")
	var s ServerSpec
	if err := json.Unmarshal(web.Spec, &s); err != nil {
		t.Fatal(err)
	}
	if s.CPU != 2 || s.MemoryGB != 4 || s.DiskGB != 50 || s.Networking.PublicIP || s.Networking.SecurityGroups == nil {
		t.Fatalf("server defaults not applied: %+v", s)
	}
	if web.Retry.MaxAttempts != DefaultAttempts || web.Retry.BaseDelay != DefaultBaseDelay || p.MaxParallel != DefaultParallel {
		t.Fatalf("retry defaults %+v, parallel %d", web.Retry, p.MaxParallel)
	}
}

func TestPrepareRefuses(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(w *Workflow)
		task   string
		field  string
		substr string
	}{
		{"unknown provider", func(w *Workflow) { w.Tasks[1].Provider = "gcp" }, "web", "provider", `unknown provider "gcp"`},
		{"unknown kind", func(w *Workflow) { w.Tasks[0].Kind = "router" }, "net", "kind", `unknown kind "router"`},
		{"missing dependency", func(w *Workflow) { w.Tasks[3].DependsOn = []string{"db", "cache"} }, "data", "depends_on[1]", `no task "cache"`},
		{"contract: os family", func(w *Workflow) { w.Tasks[1].Spec = json.RawMessage(`{"os":{"family":"windows","version":"11"}}`) },
			"web", "spec.os.family", `"windows"`},
		{"contract: unknown field", func(w *Workflow) { w.Tasks[1].Spec = json.RawMessage(`{"cpus":2}`) }, "web", "spec", `unknown field "cpus"`},
		{"contract: wrong type", func(w *Workflow) { w.Tasks[2].Spec = json.RawMessage(`{"cpu":"four"}`) }, "db", "spec", "field cpu"},
		{"storage type", func(w *Workflow) { w.Tasks[3].Spec = json.RawMessage(`{"size_gb":1,"type":"tape"}`) }, "data", "spec.type", `"tape"`},
		{"retry", func(w *Workflow) { w.Tasks[0].Retry = &Retry{MaxAttempts: 99} }, "net", "retry.max_attempts", "99"},
		{"environment", func(w *Workflow) { w.Environment = "prod" }, "", "environment", `"prod"`},
		{"unsupported kind", func(w *Workflow) { w.Tasks[0].Kind = "kubernetes" }, "net", "kind", "does not provision kubernetes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := fiveTasks()
			c.edit(&w)
			_, err := Prepare(w)
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("want InvalidError, got %v", err)
			}
			if ie.Task != c.task || ie.Field != c.field || !strings.Contains(ie.Msg, c.substr) {
				t.Fatalf("got task %q field %q msg %q", ie.Task, ie.Field, ie.Msg)
			}
		})
	}
}

func TestCycleIsNamed(t *testing.T) {
	w := fiveTasks()
	w.Tasks[0].DependsOn = []string{"app"} // net → app → web → net
	_, err := Prepare(w)
	var ce *CycleError
	if !errors.As(err, &ce) {
		t.Fatalf("want CycleError, got %v", err)
	}
	if got := strings.Join(ce.Cycle, " → "); got != "net → app → web → net" {
		t.Fatalf("cycle %q", got)
	}
	if !strings.Contains(err.Error(), "net → app → web → net") {
		t.Fatal(err)
	}
	w = fiveTasks()
	w.Tasks[0].DependsOn = []string{"net"}
	if _, err := Prepare(w); !errors.As(err, &ce) || strings.Join(ce.Cycle, " → ") != "net → net" {
		t.Fatalf("self-dependency: %v", err)
	}
}

func TestPlanCostsAndWaves(t *testing.T) {
	w := fiveTasks()
	w.Defaults.Provider = "aws"
	w.Tasks[4].Provider = "local"
	p, err := Prepare(w)
	if err != nil {
		t.Fatal(err)
	}
	plan := MakePlan(p)
	db := plan.Tasks[2]
	if db.ID != "db" || db.Wave != 1 {
		t.Fatalf("plan task %+v", db)
	}
	// db: 4 cpu × 25 + 4 GB × 3.3 + 50 GB × 0.088
	if db.MonthlyCostUSD != 117.6 {
		t.Fatalf("db costs %v", db.MonthlyCostUSD)
	}
	var sum float64
	for _, t := range plan.Tasks {
		sum += t.MonthlyCostUSD
	}
	if plan.MonthlyCostUSD <= 0 || plan.MonthlyCostUSD-sum > 0.01 || sum-plan.MonthlyCostUSD > 0.01 {
		t.Fatalf("total %v, sum %v", plan.MonthlyCostUSD, sum)
	}
}
