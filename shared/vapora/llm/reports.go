package llm

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// CostRow is the spend of one (day, role, provider, model).
type CostRow struct {
	Day          string `json:"day"`
	Role         string `json:"role"`
	Provider     string `json:"provider"`
	Model        string `json:"model"`
	Calls        int64  `json:"calls"`
	InputTokens  int64  `json:"input_tokens"`
	OutputTokens int64  `json:"output_tokens"`
	Micros       int64  `json:"micros"`
}

// CostRows sums the cost records of days from..to (inclusive, YYYY-MM-DD),
// optionally of one role or one provider.
func (s *Store) CostRows(ctx context.Context, from, to, role, provider string) ([]CostRow, error) {
	where := "day >= $from AND day <= $to"
	if role != "" {
		where += " AND role = $role"
	}
	if provider != "" {
		where += " AND provider = $provider"
	}
	rows, err := surreal.Query[[]CostRow](ctx, s.db, `SELECT day, role, provider, model, count() AS calls,
		math::sum(input_tokens) AS input_tokens, math::sum(output_tokens) AS output_tokens, math::sum(cost_micros) AS micros
		FROM llm_costs WHERE `+where+` GROUP BY day, role, provider, model`,
		map[string]any{"from": from, "to": to, "role": role, "provider": provider})
	if err != nil {
		return nil, fmt.Errorf("sum costs: %w", err)
	}
	return rows, nil
}

// Total is the spend of one key of a report.
type Total struct {
	Key          string  `json:"key"`
	Calls        int64   `json:"calls"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	CostCents    float64 `json:"cost_cents"`
	micros       int64
}

// Report is GET /llm/costs: totals by role, provider, model and day.
type Report struct {
	From       string  `json:"from"`
	To         string  `json:"to"`
	Key        string  `json:"key,omitempty"`
	KeyKind    string  `json:"key_kind,omitempty"` // role or provider
	Total      Total   `json:"total"`
	ByRole     []Total `json:"by_role"`
	ByProvider []Total `json:"by_provider"`
	ByModel    []Total `json:"by_model"`
	ByDay      []Total `json:"by_day"`
}

func buildReport(rows []CostRow) Report {
	var rep Report
	groups := map[string]map[string]*Total{"role": {}, "provider": {}, "model": {}, "day": {}}
	add := func(t *Total, r CostRow) {
		t.Calls += r.Calls
		t.InputTokens += r.InputTokens
		t.OutputTokens += r.OutputTokens
		t.micros += r.Micros
		t.CostCents = centsOf(t.micros)
	}
	for _, r := range rows {
		add(&rep.Total, r)
		for dim, key := range map[string]string{"role": r.Role, "provider": r.Provider, "model": r.Provider + "/" + r.Model, "day": r.Day} {
			if groups[dim][key] == nil {
				groups[dim][key] = &Total{Key: key}
			}
			add(groups[dim][key], r)
		}
	}
	rep.Total.Key = "total"
	rep.ByRole, rep.ByProvider = sorted(groups["role"]), sorted(groups["provider"])
	rep.ByModel, rep.ByDay = sorted(groups["model"]), sorted(groups["day"])
	return rep
}

func sorted(m map[string]*Total) []Total {
	out := make([]Total, 0, len(m))
	for _, t := range m {
		out = append(out, *t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// dateRange reads ?from&to (YYYY-MM-DD, inclusive); by default the current month to today.
func dateRange(r *http.Request, now time.Time) (string, string, error) {
	q := r.URL.Query()
	from, to := now.Format("2006-01")+"-01", now.Format("2006-01-02")
	for name, dst := range map[string]*string{"from": &from, "to": &to} {
		if v := q.Get(name); v != "" {
			if _, err := time.Parse("2006-01-02", v); err != nil {
				return "", "", httpapi.BadRequest("%s %q: want a date YYYY-MM-DD", name, v)
			}
			*dst = v
		}
	}
	if from > to {
		return "", "", httpapi.BadRequest("from %s is after to %s", from, to)
	}
	return from, to, nil
}

func (a *API) costs(w http.ResponseWriter, r *http.Request) error {
	return a.report(w, r, "", "")
}

// costsOf is GET /llm/costs/{key}: a role (the seed's AgentRole enum) or a
// provider name; the two sets are disjoint, so the key says which.
func (a *API) costsOf(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	if events.OneOf("role", key, events.AgentRoles) == nil {
		return a.report(w, r, key, "")
	}
	if !providerName.MatchString(key) {
		return httpapi.BadRequest("%q is neither a role (%s) nor a provider name", key, strings.Join(events.AgentRoles, ", "))
	}
	return a.report(w, r, "", key)
}

func (a *API) report(w http.ResponseWriter, r *http.Request, role, provider string) error {
	if err := a.allow(r.Context(), "read_llm"); err != nil {
		return err
	}
	from, to, err := dateRange(r, a.router.now())
	if err != nil {
		return err
	}
	rows, err := a.store.CostRows(r.Context(), from, to, role, provider)
	if err != nil {
		return err
	}
	if strings.Contains(r.Header.Get("Accept"), "text/csv") {
		return writeCSV(w, rows)
	}
	rep := buildReport(rows)
	rep.From, rep.To = from, to
	switch {
	case role != "":
		rep.Key, rep.KeyKind = role, "role"
	case provider != "":
		rep.Key, rep.KeyKind = provider, "provider"
	}
	httpapi.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// writeCSV writes one line per (day, role, provider, model), sorted.
func writeCSV(w http.ResponseWriter, rows []CostRow) error {
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		return a.Day+a.Role+a.Provider+a.Model < b.Day+b.Role+b.Provider+b.Model
	})
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"day", "role", "provider", "model", "calls", "input_tokens", "output_tokens", "cost_cents"})
	for _, r := range rows {
		_ = cw.Write([]string{r.Day, r.Role, r.Provider, r.Model, strconv.FormatInt(r.Calls, 10),
			strconv.FormatInt(r.InputTokens, 10), strconv.FormatInt(r.OutputTokens, 10),
			strconv.FormatFloat(centsOf(r.Micros), 'f', -1, 64)})
	}
	cw.Flush()
	return cw.Error()
}

// ---- budgets --------------------------------------------------------------------

// BudgetStatus is GET /llm/budget/{role}.
type BudgetStatus struct {
	Role              string  `json:"role"`
	MonthlyLimitCents *int64  `json:"monthly_limit_cents"`
	WeeklyLimitCents  *int64  `json:"weekly_limit_cents"`
	Enforcement       string  `json:"enforcement"`
	Month             string  `json:"month"`
	Week              string  `json:"week"`
	MonthSpendCents   float64 `json:"month_spend_cents"`
	WeekSpendCents    float64 `json:"week_spend_cents"`
}

func (a *API) getBudget(w http.ResponseWriter, r *http.Request) error {
	if err := a.allow(r.Context(), "read_llm"); err != nil {
		return err
	}
	role, err := roleParam(r)
	if err != nil {
		return err
	}
	st, err := a.router.BudgetStatus(r.Context(), role)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}

// BudgetStatus is a role's limits, spend and enforcement level now.
func (r *Router) BudgetStatus(ctx context.Context, role string) (BudgetStatus, error) {
	month, week, _ := period(r.now())
	st := BudgetStatus{Role: role, Enforcement: Normal, Month: month, Week: week}
	b, err := r.store.Budget(ctx, role)
	if err != nil {
		return st, err
	}
	monthly, weekly, err := r.spend.spend(ctx, role, r.now())
	if err != nil {
		return st, err
	}
	st.MonthSpendCents, st.WeekSpendCents = centsOf(monthly), centsOf(weekly)
	if b != nil {
		st.MonthlyLimitCents, st.WeeklyLimitCents = &b.MonthlyLimitCents, b.WeeklyLimitCents
		st.Enforcement, _ = levelOf(role, "monthly", monthly, b.MonthlyLimitCents)
		if b.WeeklyLimitCents != nil {
			if l, _ := levelOf(role, "weekly", weekly, *b.WeeklyLimitCents); rank(l) > rank(st.Enforcement) {
				st.Enforcement = l
			}
		}
	}
	return st, nil
}

func (a *API) putBudget(w http.ResponseWriter, r *http.Request) error {
	if err := a.allow(r.Context(), "manage_llm"); err != nil {
		return err
	}
	role, err := roleParam(r)
	if err != nil {
		return err
	}
	var in budgetInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	switch {
	case in.Role != nil && *in.Role != role:
		return httpapi.BadRequest("role %q in the body differs from %q in the path", *in.Role, role)
	case in.MonthlyLimitCents == nil:
		return httpapi.BadRequest("monthly_limit_cents: required, a non-negative integer")
	case *in.MonthlyLimitCents < 0 || *in.MonthlyLimitCents > 1<<40:
		return httpapi.BadRequest("monthly_limit_cents: %d, want a non-negative integer", *in.MonthlyLimitCents)
	case in.WeeklyLimitCents != nil && (*in.WeeklyLimitCents < 0 || *in.WeeklyLimitCents > 1<<40):
		return httpapi.BadRequest("weekly_limit_cents: %d, want a non-negative integer", *in.WeeklyLimitCents)
	}
	if err := a.store.PutBudget(r.Context(), Budget{Role: role, MonthlyLimitCents: *in.MonthlyLimitCents, WeeklyLimitCents: in.WeeklyLimitCents}); err != nil {
		return err
	}
	a.router.Invalidate()
	st, err := a.router.BudgetStatus(r.Context(), role)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, st)
	return nil
}
