package llm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// configTTL is how long an instance trusts its copy of the providers, rules
// and budgets; a PUT on this instance refreshes it at once, other instances
// see it within configTTL.
const configTTL = 2 * time.Second

// Router routes requests to providers by rule, under the roles' budgets.
type Router struct {
	store  *Store
	keys   Keys
	caller *Caller
	now    func() time.Time
	snap   atomic.Pointer[snapshot]
	mu     sync.Mutex // one reload at a time
	opened sync.Map   // key reference → key
	spend  *spendTracker
	costs  recorder
}

// NewRouter returns a router over store; keys opens the providers' keys.
func NewRouter(store *Store, keys Keys, caller *Caller) *Router {
	return &Router{store: store, keys: keys, caller: caller, now: func() time.Time { return time.Now().UTC() },
		spend: newSpendTracker(store), costs: recorder{store: store}}
}

// PublishCosts makes the router publish its cost records on b for
// vapora-llm-on-cost to write, instead of writing each before answering.
func (r *Router) PublishCosts(b *bus.Bus) *Router {
	r.costs.bus = b
	return r
}

// snapshot is the configuration a route reads.
type snapshot struct {
	providers map[string]Provider
	rules     []Rule
	budgets   map[string]Budget
	at        time.Time
}

// config returns the configuration: a stale copy is served while one
// reload runs in the background, so no call waits for it; with no copy
// (cold, or after Invalidate) the call reads it.
func (r *Router) config(ctx context.Context) (*snapshot, error) {
	s := r.snap.Load()
	if s != nil {
		if time.Since(s.at) >= configTTL && r.mu.TryLock() {
			go func() {
				defer r.mu.Unlock()
				bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				if _, err := r.reload(bg); err != nil {
					obs.Log(ctx).Warn("reload llm configuration", "err", err)
				}
			}()
		}
		return s, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.snap.Load(); s != nil {
		return s, nil
	}
	return r.reload(ctx)
}

// reload reads the configuration from the store; callers hold r.mu or accept a race of two reloads.
func (r *Router) reload(ctx context.Context) (*snapshot, error) {
	providers, err := r.store.Providers(ctx)
	if err != nil {
		return nil, err
	}
	rules, err := r.store.Rules(ctx)
	if err != nil {
		return nil, err
	}
	for i := range rules {
		if err := rules[i].compile(); err != nil {
			return nil, fmt.Errorf("stored rule %d: %w", i, err)
		}
	}
	budgets, err := r.store.Budgets(ctx)
	if err != nil {
		return nil, err
	}
	s := &snapshot{providers: providers, rules: rules, budgets: budgets, at: time.Now()}
	r.snap.Store(s)
	return s, nil
}

// Invalidate drops the cached configuration (after a PUT).
func (r *Router) Invalidate() { r.snap.Store(nil) }

// Store is where the router keeps its configuration and cost records.
func (r *Router) Store() *Store { return r.store }

// match is the first rule whose pattern matches the task type.
func (s *snapshot) match(taskType string) (Rule, bool) {
	for _, rule := range s.rules {
		if rule.re.MatchString(taskType) {
			return rule, true
		}
	}
	return Rule{}, false
}

// Typed errors of Route; the API maps each to its status.
var ErrNoRule = errors.New("no routing rule matches")

// BudgetError refuses a call of a role whose budget is exhausted (402).
type BudgetError struct {
	Role       string
	Period     string
	LimitCents int64
	SpendCents float64
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("budget of role %s exceeded: %s limit %d cents, spent %.4f cents", e.Role, e.Period, e.LimitCents, e.SpendCents)
}

// AllFailedError is a route whose every attempt failed (502).
type AllFailedError struct{ Attempts []Attempt }

func (e *AllFailedError) Error() string {
	return fmt.Sprintf("all %d attempts failed; last: %s", len(e.Attempts), e.Attempts[len(e.Attempts)-1].Error)
}

// InputError is a request the router refuses before any call (400).
type InputError struct{ Msg string }

func (e *InputError) Error() string { return e.Msg }

func inputErr(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// Route picks the rule for the task type, applies the role's budget, calls
// the providers along the plan until one answers, and records the cost.
func (r *Router) Route(ctx context.Context, req RouteRequest) (RouteResponse, error) {
	if err := req.validate(); err != nil {
		return RouteResponse{}, err
	}
	snap, err := r.config(ctx)
	if err != nil {
		return RouteResponse{}, err
	}
	rule, ok := snap.match(req.TaskType)
	if !ok {
		return RouteResponse{}, fmt.Errorf("%w task type %q (and there is no catch-all rule)", ErrNoRule, req.TaskType)
	}
	level, berr, err := r.enforcement(ctx, snap, req.Role)
	if err != nil {
		return RouteResponse{}, err
	}
	plan, err := snap.plan(rule, level, berr)
	if err != nil {
		return RouteResponse{}, err
	}
	if plan, err = fitContext(plan, req); err != nil {
		return RouteResponse{}, err
	}
	return r.attempt(ctx, req, plan, level)
}

// attempt calls the plan's targets in order; the first good reply wins.
func (r *Router) attempt(ctx context.Context, req RouteRequest, plan []target, level string) (RouteResponse, error) {
	var attempts []Attempt
	for _, t := range plan {
		start := time.Now()
		rep, err := r.call(ctx, t, req)
		a := Attempt{Provider: t.provider.Name, Model: t.model, Outcome: "ok", DurationMs: time.Since(start).Milliseconds()}
		if err != nil {
			a.Outcome, a.Error = "config", err.Error()
			var ce *CallError
			if errors.As(err, &ce) {
				a.Outcome, a.HTTPStatus, a.RetryAfter = ce.Outcome, ce.HTTPStatus, ce.RetryAfter
			}
			attempts = append(attempts, a)
			if ferr := r.store.AddFailure(context.WithoutCancel(ctx), a); ferr != nil {
				obs.Log(ctx).Warn("record failed attempt", "err", ferr)
			}
			if ctx.Err() != nil {
				break // the caller went away: no point in the rest of the chain
			}
			continue
		}
		attempts = append(attempts, a)
		return r.charge(ctx, req, t, rep, attempts, level)
	}
	return RouteResponse{}, &AllFailedError{Attempts: attempts}
}

// call opens the provider's key and calls it.
func (r *Router) call(ctx context.Context, t target, req RouteRequest) (Reply, error) {
	key, err := r.key(ctx, t.provider.KeyRef)
	if err != nil {
		return Reply{}, err
	}
	return r.caller.Call(ctx, t.provider, key, Request{Model: t.model, Messages: req.Messages, MaxTokens: req.MaxTokens})
}

// charge keeps the call's cost record (published, or written), counts it
// in the role's spend at once, and builds the answer.
func (r *Router) charge(ctx context.Context, req RouteRequest, t target, rep Reply, attempts []Attempt, level string) (RouteResponse, error) {
	micros := t.price.Cost(rep.InputTokens, rep.OutputTokens)
	rec := CostRecord{ID: newID(), Provider: t.provider.Name, Model: t.model, InputTokens: rep.InputTokens,
		OutputTokens: rep.OutputTokens, CostCents: centsOf(micros), CostMicros: micros, TaskType: req.TaskType,
		AgentID: req.AgentID, Role: req.Role, Timestamp: r.now()}
	if err := r.costs.record(context.WithoutCancel(ctx), rec); err != nil {
		return RouteResponse{}, err
	}
	r.spend.add(rec)
	obs.Log(ctx).LogAttrs(ctx, slog.LevelInfo, "routed", slog.String("role", req.Role), slog.String("task_type", req.TaskType),
		slog.String("provider", rec.Provider), slog.String("model", rec.Model), slog.Int64("cost_micros", micros),
		slog.Int("attempts", len(attempts)), slog.String("budget", level))
	return RouteResponse{Provider: rec.Provider, Model: rec.Model, Output: rep.Output, InputTokens: rep.InputTokens,
		OutputTokens: rep.OutputTokens, CostCents: rec.CostCents, Attempts: attempts, Budget: level}, nil
}

// key opens a key reference once per instance.
func (r *Router) key(ctx context.Context, ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	if v, ok := r.opened.Load(ref); ok {
		return v.(string), nil
	}
	if r.keys == nil {
		return "", errors.New("provider key is sealed but no key store is configured")
	}
	k, err := r.keys.Open(ctx, ref)
	if err != nil {
		return "", err
	}
	r.opened.Store(ref, k)
	return k, nil
}

// validate checks a route request before anything is read.
func (q RouteRequest) validate() error {
	switch {
	case events.OneOf("role", q.Role, events.AgentRoles) != nil:
		return inputErr("%v", events.OneOf("role", q.Role, events.AgentRoles))
	case q.TaskType == "" || len(q.TaskType) > 128:
		return inputErr("task_type: required, at most 128 bytes")
	case len(q.AgentID) > 128:
		return inputErr("agent_id: at most 128 bytes")
	case len(q.Messages) == 0:
		return inputErr("messages: at least one")
	case q.MaxTokens <= 0 || q.MaxTokens > 1_000_000:
		return inputErr("max_tokens: want 1–1000000, got %d", q.MaxTokens)
	}
	for i, m := range q.Messages {
		if m.Role != "system" && m.Role != "user" && m.Role != "assistant" {
			return inputErr("messages[%d].role %q: want system, user or assistant", i, m.Role)
		}
	}
	return nil
}
