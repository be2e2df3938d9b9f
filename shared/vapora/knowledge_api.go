package vapora

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// KnowledgeSpec is vapora-knowledge's HTTP surface: what the team learned,
// from Kogral's graph (the caller's scope is its graph) and from the agents'
// executions.
var KnowledgeSpec = httpapi.Spec[*API]{Auth: authMiddleware, Ops: []httpapi.Op[*API]{
	{Method: "POST", Path: "/knowledge/query", Summary: "Search the knowledge graph of the caller's scope (Kogral)", In: knowledgeQuery{},
		Out: KnowledgeAnswer{}, Handle: (*API).knowledgeQuery},
	{Method: "GET", Path: "/knowledge/similar/{task_id}", Summary: "Past tasks like this one: Kogral's Execution nodes and executions of its task type",
		Out: SimilarTasks{}, Handle: (*API).similarTasks},
	{Method: "GET", Path: "/knowledge/learning/{agent_id}", Summary: "An agent's learning curve per task type, by week, and its expertise",
		Out: LearningCurve{}, Handle: (*API).learningCurve},
}}

// Kogral's node types (the seed's), which a query may filter on.
var knowledgeTypes = []string{"Note", "Decision", "Guideline", "Pattern", "Journal", "Execution"}

type (
	knowledgeQuery struct {
		Query    string   `json:"query"`
		Types    []string `json:"types,omitempty"`
		Semantic bool     `json:"semantic,omitempty"`
		Limit    int      `json:"limit,omitempty"`
		Scope    string   `json:"scope,omitempty"`
	}
	// KnowledgeAnswer is POST /knowledge/query.
	KnowledgeAnswer struct {
		Graph string         `json:"graph"`
		Hits  []KnowledgeHit `json:"hits"`
	}
	// SimilarTask is a past task Kogral knows, with its outcome.
	SimilarTask struct {
		KnowledgeHit
		Outcome    *string `json:"outcome"`
		DurationMs *int64  `json:"duration_ms"`
	}
	// SimilarTasks is GET /knowledge/similar/{task_id}.
	SimilarTasks struct {
		TaskID   string          `json:"task_id"`
		TaskType string          `json:"task_type"`
		Similar  []SimilarTask   `json:"similar"`
		SameType []PastExecution `json:"same_type"`
	}
	// WeekPoint is an agent's record on one task type in one ISO week.
	WeekPoint struct {
		Week           string  `json:"week"`
		Executions     int     `json:"executions"`
		SuccessRate    float64 `json:"success_rate"`
		MeanDurationMs float64 `json:"mean_duration_ms"`
	}
	// TypeCurve is an agent's learning curve on one task type.
	TypeCurve struct {
		TaskType  string      `json:"task_type"`
		Weeks     []WeekPoint `json:"weeks"`
		Expertise *Expertise  `json:"expertise"`
	}
	// LearningCurve is GET /knowledge/learning/{agent_id}.
	LearningCurve struct {
		AgentID string      `json:"agent_id"`
		Types   []TypeCurve `json:"task_types"`
	}
)

const (
	defaultKnowledgeLimit = 20
	maxKnowledgeLimit     = 100
	maxLearningExecutions = 5000
)

// kogralReady: without Kogral's address the knowledge routes answer 503.
func (a *API) kogralReady() error {
	if a.kogral == nil {
		return httpapi.Errorf(http.StatusServiceUnavailable, "unavailable", "Kogral is not configured (KOGRAL_URL)")
	}
	return nil
}

func kogralError(err error) error {
	if errors.Is(err, errKogral) {
		return httpapi.Errorf(http.StatusServiceUnavailable, "unavailable", "%v", err)
	}
	return err
}

// graphOf is the Kogral graph of the caller's scope: the one named, which
// the caller must hold, or its only one.
func graphOf(ctx context.Context, scope string) (string, error) {
	p := principal.From(ctx)
	switch {
	case scope != "":
		for _, s := range p.Scopes {
			if s == scope {
				return s, nil
			}
		}
		return "", httpapi.Errorf(http.StatusForbidden, "forbidden", "you do not hold scope %q", scope)
	case len(p.Scopes) == 1:
		return p.Scopes[0], nil
	}
	return "", httpapi.BadRequest("scope: required (you hold %d scopes)", len(p.Scopes))
}

func (a *API) knowledgeQuery(w http.ResponseWriter, r *http.Request) error {
	var in knowledgeQuery
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Query) == "" || len(in.Query) > 2000 {
		return httpapi.BadRequest("query: required, at most 2000 bytes")
	}
	if in.Limit == 0 {
		in.Limit = defaultKnowledgeLimit
	}
	if in.Limit < 1 || in.Limit > maxKnowledgeLimit {
		return httpapi.BadRequest("limit: want 1–%d, got %d", maxKnowledgeLimit, in.Limit)
	}
	for _, t := range in.Types {
		if err := oneOf("types", t, knowledgeTypes); err != nil {
			return httpapi.BadRequest("%v", err)
		}
	}
	graph, err := graphOf(r.Context(), in.Scope)
	if err != nil {
		return err
	}
	if err := a.kogralReady(); err != nil {
		return err
	}
	hits, err := a.searchTypes(r.Context(), in.Query, in.Types, graph, in.Semantic, in.Limit)
	if err != nil {
		return kogralError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, KnowledgeAnswer{Graph: graph, Hits: hits})
	return nil
}

// searchTypes searches each type (or all), best first, up to limit.
func (a *API) searchTypes(ctx context.Context, query string, types []string, graph string, semantic bool, limit int) ([]KnowledgeHit, error) {
	if len(types) == 0 {
		types = []string{""}
	}
	out := []KnowledgeHit{}
	for _, t := range types {
		hits, err := a.kogral.Search(ctx, query, t, graph, semantic, limit)
		if err != nil {
			return nil, err
		}
		out = append(out, hits...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out[:min(len(out), limit)], nil
}

func (a *API) similarTasks(w http.ResponseWriter, r *http.Request) error {
	t, err := a.task(r.Context(), r.PathValue("task_id"), "read")
	if err != nil {
		return err
	}
	if err := a.kogralReady(); err != nil {
		return err
	}
	taskType := taskTypeOf(t, "")
	text := t.Title
	if t.Description != nil {
		text += "\n" + *t.Description
	}
	hits, err := a.kogral.Search(r.Context(), text, "Execution", t.Scope, true, defaultKnowledgeLimit)
	if err != nil {
		return kogralError(err)
	}
	same, err := a.store.ExecutionsOfType(r.Context(), t.Scope, taskType, t.ID, defaultKnowledgeLimit)
	if err != nil {
		return err
	}
	out := SimilarTasks{TaskID: t.ID, TaskType: taskType, Similar: make([]SimilarTask, len(hits)), SameType: same}
	if out.SameType == nil {
		out.SameType = []PastExecution{}
	}
	for i, h := range hits {
		out.Similar[i] = SimilarTask{KnowledgeHit: h, Outcome: metaString(h.Metadata, "status", "outcome"), DurationMs: metaInt(h.Metadata, "duration_ms")}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func metaString(m map[string]any, keys ...string) *string {
	for _, k := range keys {
		if s, ok := m[k].(string); ok {
			return &s
		}
	}
	return nil
}

func metaInt(m map[string]any, key string) *int64 {
	if f, ok := m[key].(float64); ok {
		n := int64(f)
		return &n
	}
	return nil
}

func (a *API) learningCurve(w http.ResponseWriter, r *http.Request) error {
	ag, err := a.agentByID(r, r.PathValue("agent_id"))
	if err != nil {
		return err
	}
	// agents work for every scope: the curve is drawn from the caller's scopes' tasks only
	execs, err := a.store.AgentExecutions(r.Context(), ag.ID, principal.From(r.Context()).Scopes, maxLearningExecutions)
	if err != nil {
		return err
	}
	exp, err := a.store.AgentExpertise(r.Context(), ag.ID)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, Curve(ag.ID, execs, exp))
	return nil
}

// Curve groups an agent's executions by task type and ISO week.
func Curve(agentID string, execs []PastExecution, exp []Expertise) LearningCurve {
	type acc struct {
		n, ok int
		dur   float64
	}
	weeks := map[string]map[string]*acc{}
	for _, e := range execs {
		y, wk := e.At.UTC().ISOWeek()
		key := fmt.Sprintf("%04d-W%02d", y, wk)
		if weeks[e.TaskType] == nil {
			weeks[e.TaskType] = map[string]*acc{}
		}
		c := weeks[e.TaskType][key]
		if c == nil {
			c = &acc{}
			weeks[e.TaskType][key] = c
		}
		c.n++
		c.dur += float64(e.DurationMs)
		if e.Success {
			c.ok++
		}
	}
	byType := map[string]*Expertise{}
	for i := range exp {
		byType[exp[i].TaskType] = &exp[i]
		if weeks[exp[i].TaskType] == nil {
			weeks[exp[i].TaskType] = map[string]*acc{}
		}
	}
	out := LearningCurve{AgentID: agentID, Types: []TypeCurve{}}
	for tt, ws := range weeks {
		c := TypeCurve{TaskType: tt, Weeks: []WeekPoint{}, Expertise: byType[tt]}
		for wk, a := range ws {
			c.Weeks = append(c.Weeks, WeekPoint{Week: wk, Executions: a.n, SuccessRate: float64(a.ok) / float64(a.n), MeanDurationMs: a.dur / float64(a.n)})
		}
		sort.Slice(c.Weeks, func(i, j int) bool { return c.Weeks[i].Week < c.Weeks[j].Week })
		out.Types = append(out.Types, c)
	}
	sort.Slice(out.Types, func(i, j int) bool { return out.Types[i].TaskType < out.Types[j].TaskType })
	return out
}
