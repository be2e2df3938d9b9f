package llm

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Store keeps the router's records in Vapora's database. Nothing here is a
// read-modify-write: records are created or replaced whole, and spend is a
// sum over immutable cost records.
type Store struct {
	db *surreal.Client
}

// NewStore returns the router's store over db (database "vapora").
func NewStore(db *surreal.Client) *Store { return &Store{db: db} }

func rid(table, id string) models.RecordID { return models.NewRecordID(table, id) }

// newID is a unique record id: time-ordered prefix, random suffix.
func newID() string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return fmt.Sprintf("%016x%s", time.Now().UnixNano(), hex.EncodeToString(b))
}

// providerRow is a provider as stored, with its key reference.
type providerRow struct {
	Name      string           `json:"name"`
	Kind      string           `json:"kind"`
	BaseURL   string           `json:"base_url"`
	Models    map[string]Price `json:"models"`
	TimeoutMs int64            `json:"timeout_ms"`
	KeyRef    string           `json:"key_ref"`
	UpdatedAt time.Time        `json:"updated_at"`
}

func (r providerRow) provider() Provider {
	return Provider{Name: r.Name, Kind: r.Kind, BaseURL: r.BaseURL, Models: r.Models, TimeoutMs: r.TimeoutMs,
		KeyRef: r.KeyRef, UpdatedAt: r.UpdatedAt}
}

// PutProvider creates or replaces a provider.
func (s *Store) PutProvider(ctx context.Context, p Provider) error {
	models := map[string]any{}
	for m, pr := range p.Models {
		models[m] = map[string]any{"input_cents_per_mtok": pr.InputCentsPerMTok, "output_cents_per_mtok": pr.OutputCentsPerMTok,
			"context_tokens": pr.ContextTokens}
	}
	_, err := surreal.Query[any](ctx, s.db, `UPSERT $id CONTENT { kind: $kind, base_url: $base, models: $models,
		timeout_ms: $timeout, key_ref: $key, updated_at: time::now() }`,
		map[string]any{"id": rid("llm_providers", p.Name), "kind": p.Kind, "base": p.BaseURL, "models": models,
			"timeout": p.TimeoutMs, "key": p.KeyRef})
	if err != nil {
		return fmt.Errorf("put provider %s: %w", p.Name, err)
	}
	return nil
}

// Providers lists the configured providers by name.
func (s *Store) Providers(ctx context.Context) (map[string]Provider, error) {
	rows, err := surreal.Query[[]providerRow](ctx, s.db, "SELECT *, record::id(id) AS name FROM llm_providers", nil)
	if err != nil {
		return nil, fmt.Errorf("read providers: %w", err)
	}
	out := make(map[string]Provider, len(rows))
	for _, r := range rows {
		out[r.Name] = r.provider()
	}
	return out, nil
}

// PutRules replaces the ordered rule list.
func (s *Store) PutRules(ctx context.Context, rules []Rule) error {
	list := make([]map[string]any, len(rules))
	for i, r := range rules {
		chain := r.FallbackChain
		if chain == nil {
			chain = []string{}
		}
		list[i] = map[string]any{"pattern": r.Pattern, "provider": r.Provider, "model": r.Model,
			"fallback_chain": chain, "allow_local_when_exceeded": r.AllowLocalWhenExceeded}
	}
	_, err := surreal.Query[any](ctx, s.db, "UPSERT llm_rules:current CONTENT { rules: $rules, updated_at: time::now() }",
		map[string]any{"rules": list})
	if err != nil {
		return fmt.Errorf("put rules: %w", err)
	}
	return nil
}

// Rules reads the ordered rule list (empty when none was set).
func (s *Store) Rules(ctx context.Context) ([]Rule, error) {
	row, err := surreal.Query[*struct {
		Rules []Rule `json:"rules"`
	}](ctx, s.db, "SELECT rules FROM ONLY llm_rules:current", nil)
	if err != nil {
		return nil, fmt.Errorf("read rules: %w", err)
	}
	if row == nil {
		return []Rule{}, nil
	}
	return row.Rules, nil
}

// PutBudget creates or replaces a role's budget.
func (s *Store) PutBudget(ctx context.Context, b Budget) error {
	var weekly any = models.None
	if b.WeeklyLimitCents != nil {
		weekly = *b.WeeklyLimitCents
	}
	_, err := surreal.Query[any](ctx, s.db, `UPSERT $id CONTENT { monthly_limit_cents: $monthly, weekly_limit_cents: $weekly,
		updated_at: time::now() }`, map[string]any{"id": rid("llm_budgets", b.Role), "monthly": b.MonthlyLimitCents, "weekly": weekly})
	if err != nil {
		return fmt.Errorf("put budget %s: %w", b.Role, err)
	}
	return nil
}

// Budget reads a role's budget; nil when the role has none.
func (s *Store) Budget(ctx context.Context, role string) (*Budget, error) {
	b, err := surreal.Query[*Budget](ctx, s.db, "SELECT *, record::id(id) AS role FROM ONLY $id",
		map[string]any{"id": rid("llm_budgets", role)})
	if err != nil {
		return nil, fmt.Errorf("read budget %s: %w", role, err)
	}
	return b, nil
}

// Spend sums a role's cost records in the month and the ISO week of now,
// exactly, in millionths of a cent: two key ranges of ids [role, ts, …].
// It reads every record of the period (reports, tests); the router keeps
// the running figure with spendTracker instead.
func (s *Store) Spend(ctx context.Context, role string, now time.Time) (monthly, weekly int64, err error) {
	now = now.UTC()
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	wd := (int(now.Weekday()) + 6) % 7
	week := time.Date(now.Year(), now.Month(), now.Day()-wd, 0, 0, 0, 0, time.UTC)
	sum := func(from, to time.Time) (int64, error) {
		q := fmt.Sprintf("RETURN math::sum((SELECT VALUE cost_micros FROM llm_costs:[%s, %d]..[%s, %d]))",
			quote(role), from.UnixNano(), quote(role), to.UnixNano())
		return surreal.Query[int64](ctx, s.db, q, nil)
	}
	if monthly, err = sum(month, month.AddDate(0, 1, 0)); err != nil {
		return 0, 0, fmt.Errorf("sum monthly spend of %s: %w", role, err)
	}
	if weekly, err = sum(week, week.AddDate(0, 0, 7)); err != nil {
		return 0, 0, fmt.Errorf("sum weekly spend of %s: %w", role, err)
	}
	return monthly, weekly, nil
}

// costKey is a cost record's id: [role, ts, random].
func costKey(c CostRecord) models.RecordID {
	return models.NewRecordID("llm_costs", []any{c.Role, c.Timestamp.UnixNano(), c.ID})
}

// AddCost creates one cost record under a fresh unique id. The statement
// gives up after writeTimeout, so no record commits long after its ts
// (what the spend trackers' overlap relies on).
func (s *Store) AddCost(ctx context.Context, c CostRecord) error {
	month, week, day := period(c.Timestamp)
	_, err := surreal.Query[any](ctx, s.db, `CREATE $id CONTENT { provider: $c.provider, model: $c.model,
		input_tokens: $c.input_tokens, output_tokens: $c.output_tokens, cost_cents: $c.cost_cents, cost_micros: $c.cost_micros,
		task_type: $c.task_type, agent_id: $c.agent_id, role: $c.role, timestamp: $c.timestamp, ts: $ts, month: $month, week: $week,
		day: $day } RETURN NONE TIMEOUT 2s`,
		map[string]any{"id": costKey(c), "ts": c.Timestamp.UnixNano(), "month": month, "week": week, "day": day, "c": map[string]any{
			"provider": c.Provider, "model": c.Model, "input_tokens": c.InputTokens, "output_tokens": c.OutputTokens,
			"cost_cents": c.CostCents, "cost_micros": c.CostMicros, "task_type": c.TaskType, "agent_id": c.AgentID,
			"role": c.Role, "timestamp": models.CustomDateTime{Time: c.Timestamp}}})
	if err != nil {
		return fmt.Errorf("record cost: %w", err)
	}
	return nil
}

// AddFailure records a failed attempt for the provider's health.
func (s *Store) AddFailure(ctx context.Context, a Attempt) error {
	_, err := surreal.Query[any](ctx, s.db, `CREATE $id CONTENT { provider: $p, model: $m, outcome: $o, error: $e, at: time::now() }`,
		map[string]any{"id": rid("llm_failures", newID()), "p": a.Provider, "m": a.Model, "o": a.Outcome, "e": truncate(a.Error)})
	if err != nil {
		return fmt.Errorf("record failed attempt: %w", err)
	}
	return nil
}

// Health is what the last calls of a provider say.
type Health struct {
	LastSuccess *time.Time `json:"last_success,omitempty"`
	LastFailure *time.Time `json:"last_failure,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	Healthy     bool       `json:"healthy"`
}

// Health reads, per provider, its last successful call and last failure.
func (s *Store) Health(ctx context.Context) (map[string]Health, error) {
	type okRow struct {
		Provider string    `json:"provider"`
		At       time.Time `json:"at"`
	}
	type failRow struct {
		Provider string    `json:"provider"`
		At       time.Time `json:"at"`
		Error    string    `json:"error"`
	}
	oks, err := surreal.Query[[]okRow](ctx, s.db, "SELECT provider, time::max(timestamp) AS at FROM llm_costs GROUP BY provider", nil)
	if err != nil {
		return nil, fmt.Errorf("read provider successes: %w", err)
	}
	fails, err := surreal.Query[[]failRow](ctx, s.db, `SELECT provider, at, error FROM llm_failures ORDER BY at DESC LIMIT 200`, nil)
	if err != nil {
		return nil, fmt.Errorf("read provider failures: %w", err)
	}
	out := map[string]Health{}
	for _, r := range oks {
		at := r.At
		out[r.Provider] = Health{LastSuccess: &at, Healthy: true}
	}
	for _, r := range fails {
		h := out[r.Provider]
		if h.LastFailure != nil {
			continue
		}
		at := r.At
		h.LastFailure, h.LastError = &at, r.Error
		h.Healthy = h.LastSuccess != nil && h.LastSuccess.After(at)
		out[r.Provider] = h
	}
	return out, nil
}

// Budgets reads every role's budget.
func (s *Store) Budgets(ctx context.Context) (map[string]Budget, error) {
	rows, err := surreal.Query[[]Budget](ctx, s.db, "SELECT *, record::id(id) AS role FROM llm_budgets", nil)
	if err != nil {
		return nil, fmt.Errorf("read budgets: %w", err)
	}
	out := make(map[string]Budget, len(rows))
	for _, b := range rows {
		out[b.Role] = b
	}
	return out, nil
}
