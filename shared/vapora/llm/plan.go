package llm

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// target is one provider and model a route may call.
type target struct {
	provider Provider
	model    string
	price    Price
}

func (t target) rate() int64 { return t.price.InputCentsPerMTok + t.price.OutputCentsPerMTok }

func (r *Rule) compile() error {
	re, err := regexp.Compile(r.Pattern)
	if err != nil {
		return fmt.Errorf("pattern %q: %v", r.Pattern, err)
	}
	r.re = re
	return nil
}

// modelFor is the model a provider serves for a rule: the rule's own model
// when the provider prices it, else the provider's cheapest model.
func modelFor(p Provider, preferred string) (string, Price, bool) {
	if pr, ok := p.Models[preferred]; ok {
		return preferred, pr, true
	}
	names := make([]string, 0, len(p.Models))
	for m := range p.Models {
		names = append(names, m)
	}
	sort.Strings(names)
	best, found := "", false
	for _, m := range names {
		if !found || rateOf(p.Models[m]) < rateOf(p.Models[best]) {
			best, found = m, true
		}
	}
	return best, p.Models[best], found
}

func rateOf(p Price) int64 { return p.InputCentsPerMTok + p.OutputCentsPerMTok }

// chain is the rule's provider, then its fallbacks, each once.
func (s *snapshot) chain(rule Rule) []target {
	var out []target
	seen := map[string]bool{}
	for i, name := range append([]string{rule.Provider}, rule.FallbackChain...) {
		p, ok := s.providers[name]
		if !ok || seen[name] {
			continue
		}
		seen[name] = true
		price, ok := p.Models[rule.Model] // the rule's own provider serves only the rule's model
		model := rule.Model
		if i > 0 {
			model, price, ok = modelFor(p, rule.Model)
		}
		if ok {
			out = append(out, target{provider: p, model: model, price: price})
		}
	}
	return out
}

// plan orders the targets of a route for the budget level: as the rule says
// when Normal; cheapest first from 80 %; only local (Ollama) providers from
// 100 %, and only when the rule allows it.
func (s *snapshot) plan(rule Rule, level string, over *BudgetError) ([]target, error) {
	chain := s.chain(rule)
	switch level {
	case NearThreshold:
		slices.SortStableFunc(chain, func(a, b target) int { return cmp.Compare(a.rate(), b.rate()) })
	case Exceeded:
		if !rule.AllowLocalWhenExceeded {
			return nil, over
		}
		chain = slices.DeleteFunc(chain, func(t target) bool { return t.provider.Kind != KindOllama })
		if len(chain) == 0 {
			chain = s.localTargets(rule)
		}
		if len(chain) == 0 {
			return nil, over
		}
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("rule %q names no configured provider", rule.Pattern)
	}
	return chain, nil
}

// localTargets are the configured Ollama providers, by name.
func (s *snapshot) localTargets(rule Rule) []target {
	var names []string
	for n, p := range s.providers {
		if p.Kind == KindOllama {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var out []target
	for _, n := range names {
		if m, pr, ok := modelFor(s.providers[n], rule.Model); ok {
			out = append(out, target{provider: s.providers[n], model: m, price: pr})
		}
	}
	return out
}

// fitContext drops the targets whose context the messages would overflow
// (estimated); none left is a 400 before any call.
func fitContext(plan []target, req RouteRequest) ([]target, error) {
	need := estimateTokens(req.Messages) + req.MaxTokens
	var out []target
	var sizes []string
	for _, t := range plan {
		ctxTokens := t.price.ContextTokens
		if ctxTokens <= 0 {
			ctxTokens = defaultContext
		}
		if need <= ctxTokens {
			out = append(out, t)
		}
		sizes = append(sizes, fmt.Sprintf("%s/%s %d", t.provider.Name, t.model, ctxTokens))
	}
	if len(out) == 0 {
		return nil, inputErr("messages: about %d tokens with max_tokens exceed the context of every model of the rule (%s)",
			need, strings.Join(sizes, ", "))
	}
	return out, nil
}

// enforcement is the role's budget level from its spend this month and
// ISO week; at Exceeded it also returns the refusal to give.
func (r *Router) enforcement(ctx context.Context, s *snapshot, role string) (string, *BudgetError, error) {
	b, ok := s.budgets[role]
	if !ok {
		return Normal, nil, nil
	}
	monthly, weekly, err := r.spend.spend(ctx, role, r.now())
	if err != nil {
		return "", nil, err
	}
	level, over := levelOf(role, "monthly", monthly, b.MonthlyLimitCents)
	if b.WeeklyLimitCents != nil {
		if l, o := levelOf(role, "weekly", weekly, *b.WeeklyLimitCents); rank(l) > rank(level) {
			level, over = l, o
		}
	}
	return level, over, nil
}

// levelOf compares a spend (millionths of a cent) with a limit (cents), exactly.
func levelOf(role, periodName string, spentMicros, limitCents int64) (string, *BudgetError) {
	limitMicros := limitCents * 1_000_000
	switch {
	case spentMicros >= limitMicros:
		return Exceeded, &BudgetError{Role: role, Period: periodName, LimitCents: limitCents, SpendCents: centsOf(spentMicros)}
	case spentMicros*100 >= limitMicros*80:
		return NearThreshold, nil
	}
	return Normal, nil
}

func rank(level string) int { return slices.Index([]string{Normal, NearThreshold, Exceeded}, level) }
