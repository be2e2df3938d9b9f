package llm

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"

	"github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// API serves vapora-llm: the /llm/* routes.
type API struct {
	router *Router
	store  *Store
	keys   Keys
	authz  *authz.Engine
	auth   *principal.Authenticator
}

// NewAPI builds the API over a router.
func NewAPI(router *Router, engine *authz.Engine, auth *principal.Authenticator) *API {
	return &API{router: router, store: router.store, keys: router.keys, authz: engine, auth: auth}
}

var routerEntity = authz.Entity(cedar.NewEntityUID("Router", "llm"), cedar.RecordMap{})

// allow asks Cedar whether the caller may do action (route_llm, read_llm, manage_llm).
func (a *API) allow(ctx context.Context, action string) error {
	if !a.authz.Allows(ctx, action, routerEntity) {
		return httpapi.Errorf(http.StatusForbidden, "forbidden", "%s takes the \"llm\" scope", action)
	}
	return nil
}

// routeError maps the router's typed errors to answers.
func routeError(w http.ResponseWriter, r *http.Request, err error) error {
	var in *InputError
	var be *BudgetError
	var af *AllFailedError
	switch {
	case errors.As(err, &in):
		return httpapi.BadRequest("%s", in.Msg)
	case errors.Is(err, ErrNoRule):
		return httpapi.Errorf(http.StatusUnprocessableEntity, "no_rule", "%s", err.Error())
	case errors.As(err, &be):
		return httpapi.Errorf(http.StatusPaymentRequired, "budget_exceeded", "%s", be.Error())
	case errors.As(err, &af):
		httpapi.WriteJSON(w, http.StatusBadGateway, map[string]any{"error": map[string]any{"code": "providers_failed",
			"message": af.Error(), "request_id": w.Header().Get(httpapi.RequestIDHeader)}, "attempts": af.Attempts})
		return nil
	}
	return err
}

func (a *API) route(w http.ResponseWriter, r *http.Request) error {
	if err := a.allow(r.Context(), "route_llm"); err != nil {
		return err
	}
	var in RouteRequest
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	res, err := a.router.Route(r.Context(), in)
	if err != nil {
		return routeError(w, r, err)
	}
	httpapi.WriteJSON(w, http.StatusOK, res)
	return nil
}

// providerView is a provider as GET /llm/providers shows it: never its key.
type providerView struct {
	Provider
	HasKey bool   `json:"has_key"`
	Health Health `json:"health"`
}

func (a *API) listProviders(w http.ResponseWriter, r *http.Request) error {
	if err := a.allow(r.Context(), "read_llm"); err != nil {
		return err
	}
	ps, err := a.store.Providers(r.Context())
	if err != nil {
		return err
	}
	health, err := a.store.Health(r.Context())
	if err != nil {
		return err
	}
	out := []providerView{}
	for _, p := range ps {
		out = append(out, providerView{Provider: p, HasKey: p.KeyRef != "", Health: health[p.Name]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	httpapi.WriteJSON(w, http.StatusOK, providerList{Providers: out})
	return nil
}

type providerInput struct {
	Kind      string           `json:"kind"`
	BaseURL   string           `json:"base_url"`
	APIKey    *string          `json:"api_key"`
	Models    map[string]Price `json:"models"`
	TimeoutMs int64            `json:"timeout_ms"`
}

func (in providerInput) validate(name string) error {
	switch {
	case !providerName.MatchString(name):
		return httpapi.BadRequest("provider name %q: want 1–64 of a-z 0-9 _ - starting with a letter or digit", name)
	case !slices.Contains(Kinds, in.Kind):
		return httpapi.BadRequest("kind %q: want one of anthropic, openai, gemini, ollama, bedrock", in.Kind)
	case len(in.Models) == 0:
		return httpapi.BadRequest("models: at least one model with its prices")
	case in.TimeoutMs < 0 || in.TimeoutMs > 600_000:
		return httpapi.BadRequest("timeout_ms: want 0–600000")
	}
	if in.BaseURL != "" {
		u, err := url.Parse(in.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return httpapi.BadRequest("base_url %q: want an http or https URL", in.BaseURL)
		}
	}
	for m, p := range in.Models {
		if m == "" || len(m) > 200 {
			return httpapi.BadRequest("models: a model name is empty or longer than 200 bytes")
		}
		if p.InputCentsPerMTok < 0 || p.OutputCentsPerMTok < 0 || p.ContextTokens < 0 {
			return httpapi.BadRequest("models[%q]: prices and context_tokens must not be negative", m)
		}
	}
	return nil
}

func (a *API) putProvider(w http.ResponseWriter, r *http.Request) error {
	if err := a.allow(r.Context(), "manage_llm"); err != nil {
		return err
	}
	name := r.PathValue("name")
	var in providerInput
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if err := in.validate(name); err != nil {
		return err
	}
	p := Provider{Name: name, Kind: in.Kind, BaseURL: in.BaseURL, Models: in.Models, TimeoutMs: in.TimeoutMs}
	existing, err := a.store.Providers(r.Context())
	if err != nil {
		return err
	}
	p.KeyRef = existing[name].KeyRef // an absent api_key keeps the key
	if in.APIKey != nil {
		if p.KeyRef, err = a.seal(r.Context(), name, *in.APIKey); err != nil {
			return err
		}
	}
	if err := a.store.PutProvider(r.Context(), p); err != nil {
		return err
	}
	a.router.Invalidate()
	httpapi.WriteJSON(w, http.StatusOK, providerView{Provider: p, HasKey: p.KeyRef != ""})
	return nil
}

func (a *API) seal(ctx context.Context, name, key string) (string, error) {
	if key == "" {
		return "", nil
	}
	if a.keys == nil {
		return "", httpapi.Errorf(http.StatusServiceUnavailable, "unavailable", "no key store: configure VAULT_ADDR or a KMS key")
	}
	ref, err := a.keys.Seal(ctx, name, key)
	if err != nil {
		return "", &httpapi.Error{Status: http.StatusServiceUnavailable, Code: "unavailable",
			Message: "the key store did not take the key; retry", Err: err}
	}
	return ref, nil
}

func (a *API) getRules(w http.ResponseWriter, r *http.Request) error {
	if err := a.allow(r.Context(), "read_llm"); err != nil {
		return err
	}
	rules, err := a.store.Rules(r.Context())
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, ruleList{Rules: &rules})
	return nil
}

func (a *API) putRules(w http.ResponseWriter, r *http.Request) error {
	if err := a.allow(r.Context(), "manage_llm"); err != nil {
		return err
	}
	var in ruleList
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Rules == nil {
		return httpapi.BadRequest("rules: required (an ordered list)")
	}
	providers, err := a.store.Providers(r.Context())
	if err != nil {
		return err
	}
	if err := checkRules(*in.Rules, providers); err != nil {
		return err
	}
	if err := a.store.PutRules(r.Context(), *in.Rules); err != nil {
		return err
	}
	a.router.Invalidate()
	httpapi.WriteJSON(w, http.StatusOK, in)
	return nil
}

// checkRules refuses a rule list naming a bad pattern, provider or model.
func checkRules(rules []Rule, providers map[string]Provider) error {
	if len(rules) > 200 {
		return httpapi.BadRequest("rules: at most 200")
	}
	for i := range rules {
		rule := &rules[i]
		if err := rule.compile(); err != nil {
			return httpapi.BadRequest("rule %d: invalid regex: %v", i, err)
		}
		p, ok := providers[rule.Provider]
		if !ok {
			return httpapi.BadRequest("rule %d (%q): unknown provider %q", i, rule.Pattern, rule.Provider)
		}
		if _, ok := p.Models[rule.Model]; !ok {
			return httpapi.BadRequest("rule %d (%q): provider %s has no model %q", i, rule.Pattern, rule.Provider, rule.Model)
		}
		for _, f := range rule.FallbackChain {
			if _, ok := providers[f]; !ok {
				return httpapi.BadRequest("rule %d (%q): unknown provider %q in fallback_chain", i, rule.Pattern, f)
			}
		}
	}
	return nil
}

func roleParam(r *http.Request) (string, error) {
	role := r.PathValue("role")
	if err := events.OneOf("role", role, events.AgentRoles); err != nil {
		return "", httpapi.BadRequest("%v", err)
	}
	return role, nil
}
