package llm

import (
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

var dateRangeQuery = []httpapi.Param{
	{Name: "from", Description: "first day, YYYY-MM-DD (default: the first of this month)"},
	{Name: "to", Description: "last day, YYYY-MM-DD (default: today)"},
}

// Spec is vapora-llm's HTTP surface.
var Spec = httpapi.Spec[*API]{Auth: func(a *API) func(http.Handler) http.Handler { return a.auth.Middleware },
	Ops: []httpapi.Op[*API]{
		{Method: "POST", Path: "/llm/route", Summary: "Route a completion to a provider by the rules, within the role's budget",
			In: RouteRequest{}, Out: RouteResponse{}, Handle: (*API).route},
		{Method: "GET", Path: "/llm/providers", Summary: "List the providers with their health (never their keys)",
			Out: providerList{}, Handle: (*API).listProviders},
		{Method: "PUT", Path: "/llm/providers/{name}", Summary: "Create or replace a provider; an absent api_key keeps the key",
			In: providerInput{}, Out: providerView{}, Handle: (*API).putProvider},
		{Method: "GET", Path: "/llm/rules", Summary: "The routing rules, in order", Out: ruleList{}, Handle: (*API).getRules},
		{Method: "PUT", Path: "/llm/rules", Summary: "Replace the routing rules", In: ruleList{}, Out: ruleList{}, Handle: (*API).putRules},
		{Method: "GET", Path: "/llm/budget/{role}", Summary: "A role's budget, spend and enforcement level", Out: BudgetStatus{},
			Handle: (*API).getBudget},
		{Method: "PUT", Path: "/llm/budget/{role}", Summary: "Set a role's monthly (and weekly) limit", In: budgetInput{},
			Out: BudgetStatus{}, Handle: (*API).putBudget},
		{Method: "GET", Path: "/llm/costs", Summary: "Costs by role, provider and model (text/csv on Accept)", Out: Report{},
			Query: dateRangeQuery, Handle: (*API).costs},
		{Method: "GET", Path: "/llm/costs/{key}", Summary: "Costs of one role or one provider", Out: Report{},
			Query: dateRangeQuery, Handle: (*API).costsOf},
	}}

type (
	providerList struct {
		Providers []providerView `json:"providers"`
	}
	ruleList struct {
		Rules *[]Rule `json:"rules"`
	}
	budgetInput struct {
		Role              *string `json:"role,omitempty"`
		MonthlyLimitCents *int64  `json:"monthly_limit_cents"`
		WeeklyLimitCents  *int64  `json:"weekly_limit_cents,omitempty"`
		Enforcement       *string `json:"enforcement,omitempty"` // computed; accepted and ignored
	}
)
