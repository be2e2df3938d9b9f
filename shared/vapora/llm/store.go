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

// Spend sums a role's cost records of the month and the ISO week of now,
// exactly, in millionths of a cent. A record's key holds the time it was
// written, never before its call, so the records of a period are in the
// key range from the period's start on, filtered by the period they were
// called in. It reads every record of the period (reports, tests); the
// router keeps the running figure with spendTracker instead.
func (s *Store) Spend(ctx context.Context, role string, now time.Time) (monthly, weekly int64, err error) {
	month, week, _ := period(now)
	sum := func(field, name string, from time.Time) (int64, error) {
		q := fmt.Sprintf("RETURN math::sum((SELECT VALUE cost_micros FROM llm_costs:[%s, %d]..[%s, 9223372036854775807] WHERE %s = $p))",
			quote(role), from.UnixNano(), quote(role), field)
		return surreal.Query[int64](ctx, s.db, q, map[string]any{"p": name})
	}
	if monthly, err = sum("month", month, monthStart(now)); err != nil {
		return 0, 0, fmt.Errorf("sum monthly spend of %s: %w", role, err)
	}
	if weekly, err = sum("week", week, weekStart(now)); err != nil {
		return 0, 0, fmt.Errorf("sum weekly spend of %s: %w", role, err)
	}
	return monthly, weekly, nil
}

// writeTimeout bounds a cost write: no record commits later than this
// after the time in its key (what the spend trackers' overlap relies on).
const writeTimeout = 2 * time.Second

// AddCosts writes cost records, each once: a record whose id (cid) is
// already stored, a redelivered message or a record written both through
// the bus and directly, is skipped by the unique index on cid, in the
// statement, so this holds across instances. The key is [role, written,
// cid] with written the time of this write (Unix ns), not of the call:
// however late a record is written (a consumer's backlog), it commits
// within writeTimeout of its key, and a tracker reading keys from a little
// before its last read on still sees it.
func (s *Store) AddCosts(ctx context.Context, cs []CostRecord) error {
	if len(cs) == 0 {
		return nil
	}
	written := time.Now().UnixNano()
	rows := make([]map[string]any, len(cs))
	for i, c := range cs {
		month, week, day := period(c.Timestamp)
		rows[i] = map[string]any{"id": models.NewRecordID("llm_costs", []any{c.Role, written, c.ID}), "cid": c.ID,
			"provider": c.Provider, "model": c.Model, "input_tokens": c.InputTokens, "output_tokens": c.OutputTokens,
			"cost_cents": c.CostCents, "cost_micros": c.CostMicros, "task_type": c.TaskType, "agent_id": c.AgentID,
			"role": c.Role, "timestamp": models.CustomDateTime{Time: c.Timestamp}, "ts": c.Timestamp.UnixNano(),
			"month": month, "week": week, "day": day}
	}
	q := fmt.Sprintf("INSERT IGNORE INTO llm_costs $rows RETURN NONE TIMEOUT %dms", writeTimeout.Milliseconds())
	if _, err := surreal.Query[any](ctx, s.db, q, map[string]any{"rows": rows}); err != nil {
		return fmt.Errorf("record %d cost records: %w", len(cs), err)
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
