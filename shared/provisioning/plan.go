package provisioning

import (
	"encoding/json"
	"math"
	"slices"
)

// Providers.
const (
	ProviderAWS     = "aws"
	ProviderUpCloud = "upcloud"
	ProviderLocal   = "local"
)

// ProviderNames lists the known providers.
var ProviderNames = []string{ProviderAWS, ProviderUpCloud, ProviderLocal}

var supported = map[string][]string{
	ProviderAWS:     {KindServer, KindNetwork, KindStorage},
	ProviderUpCloud: {KindServer, KindNetwork, KindStorage},
	ProviderLocal:   {KindServer, KindNetwork, KindStorage, KindService},
}

// Supports reports whether provider provisions kind.
func Supports(provider, kind string) bool { return slices.Contains(supported[provider], kind) }

// price is a provider's list price, in USD per month.
type price struct{ cpu, memoryGB, diskGB, network float64 }

// prices are on-demand list prices per month, rounded (aws: eu-west-1 m6i/gp3;
// upcloud: general purpose plans and MaxIOPS); local costs nothing.
var prices = map[string]price{
	ProviderAWS:     {cpu: 25.0, memoryGB: 3.3, diskGB: 0.088, network: 0},
	ProviderUpCloud: {cpu: 12.0, memoryGB: 2.5, diskGB: 0.22, network: 0},
	ProviderLocal:   {},
}

var volumeFactor = map[string]float64{"hdd": 0.5, "ssd": 1, "nvme": 1.6}

// MonthlyCost estimates what a task costs per month on its provider.
func MonthlyCost(t PreparedTask) float64 {
	p := prices[t.Provider]
	var c float64
	switch t.Kind {
	case KindServer:
		var s ServerSpec
		_ = json.Unmarshal(t.Spec, &s)
		c = float64(s.CPU)*p.cpu + float64(s.MemoryGB)*p.memoryGB + float64(s.DiskGB)*p.diskGB
		for _, v := range s.Storage {
			c += float64(v.SizeGB) * p.diskGB * volumeFactor[v.Type]
		}
	case KindStorage:
		var s StorageSpec
		_ = json.Unmarshal(t.Spec, &s)
		c = float64(s.SizeGB) * p.diskGB * volumeFactor[s.Type]
	case KindNetwork:
		c = p.network
	}
	return math.Round(c*100) / 100
}

// Plan is a dry run: what would be done, in which order, at what cost.
type Plan struct {
	Workflow    string     `json:"workflow"`
	Environment string     `json:"environment"`
	MaxParallel int        `json:"max_parallel"`
	Order       []string   `json:"order"`
	Waves       [][]string `json:"waves"`
	Tasks       []PlanTask `json:"tasks"`
	// MonthlyCostUSD is the sum of the tasks' estimates.
	MonthlyCostUSD float64 `json:"monthly_cost_usd"`
}

// PlanTask is one task of a plan.
type PlanTask struct {
	ID             string          `json:"id"`
	Kind           string          `json:"kind"`
	Provider       string          `json:"provider"`
	Wave           int             `json:"wave"`
	DependsOn      []string        `json:"depends_on"`
	Spec           json.RawMessage `json:"spec"`
	MaxAttempts    int             `json:"max_attempts"`
	MonthlyCostUSD float64         `json:"monthly_cost_usd"`
}

// MakePlan is p's plan; it has no side effects.
func MakePlan(p *Prepared) Plan {
	out := Plan{Workflow: p.Name, Environment: p.Environment, MaxParallel: p.MaxParallel, Order: p.Order, Waves: p.Waves}
	wave := map[string]int{}
	for i, w := range p.Waves {
		for _, id := range w {
			wave[id] = i
		}
	}
	var total float64
	for _, id := range p.Order {
		t, _ := p.Task(id)
		c := MonthlyCost(t)
		total += c
		deps := t.DependsOn
		if deps == nil {
			deps = []string{}
		}
		out.Tasks = append(out.Tasks, PlanTask{ID: id, Kind: t.Kind, Provider: t.Provider, Wave: wave[id], DependsOn: deps,
			Spec: t.Spec, MaxAttempts: t.Retry.MaxAttempts, MonthlyCostUSD: c})
	}
	out.MonthlyCostUSD = math.Round(total*100) / 100
	return out
}
