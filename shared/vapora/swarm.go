package vapora

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

// The swarm places tasks on the agents of a role by the assignment score,
// never filling an agent past a limit (1.0, or a balance threshold): each
// task it places adds loadPerTask to its agent's planned load.

// planner places one request's tasks, tracking the load it plans for each agent.
type planner struct {
	store *Store
	cands map[string][]Candidate // role + "/" + task type
	load  map[string]float64     // agent id → load planned so far
	freed map[string]float64     // agent id → load the write that places the task sheds first
	// spread breaks ties between equally good agents at random rather than
	// by id: instances placing tasks at once then seldom pick the same
	// agent, whose load their writes would contend for.
	spread bool
}

func newPlanner(s *Store) *planner {
	return &planner{store: s, cands: map[string][]Candidate{}, load: map[string]float64{}, freed: map[string]float64{}}
}

// stagePlanner is the pipelines' planner: ties spread, and the agents of
// release counted without the tasks they are done with (the write that
// starts the next stage sheds those first).
func stagePlanner(s *Store, release []Hold) *planner {
	pl := newPlanner(s)
	pl.spread = true
	for _, h := range release {
		pl.freed[h.Agent] += loadPerTask
	}
	return pl
}

// pick is the best Ready agent of role that stays within limit with one more
// task; ok is false when there is none, reason says why.
func (pl *planner) pick(ctx context.Context, role, taskType string, limit float64, exclude string) (c Candidate, reason string, err error) {
	key := role + "/" + taskType
	cands, seen := pl.cands[key]
	if !seen {
		if cands, err = pl.store.Candidates(ctx, role, taskType); err != nil {
			return Candidate{}, "", err
		}
		pl.cands[key] = cands
		for _, c := range cands {
			if _, ok := pl.load[c.Agent.ID]; !ok {
				pl.load[c.Agent.ID] = max(0, c.Agent.CurrentLoad-pl.freed[c.Agent.ID])
			}
		}
		for i, c := range cands {
			if c.Agent.Status == "Busy" && pl.freed[c.Agent.ID] > 0 {
				cands[i].Agent.Status = "Ready" // full until the write sheds the task it is done with
			}
		}
	}
	fit := make([]Candidate, 0, len(cands))
	ready := 0
	for _, c := range cands {
		if c.Agent.Status != "Ready" || c.Agent.ID == exclude {
			continue
		}
		ready++
		if pl.load[c.Agent.ID]+loadPerTask <= limit+1e-9 {
			c.Agent.CurrentLoad = pl.load[c.Agent.ID]
			fit = append(fit, c)
		}
	}
	best, ok := Best(fit)
	if ok && pl.spread {
		best = pl.pickTied(fit, best)
	}
	switch {
	case ok:
		pl.load[best.Agent.ID] += loadPerTask
		return best, "", nil
	case ready == 0:
		return Candidate{}, fmt.Sprintf("no Ready agent with role %s", role), nil
	}
	return Candidate{}, fmt.Sprintf("every Ready %s would go over load %.2f", role, limit), nil
}

// RoleStatus is the swarm's state for one role.
type RoleStatus struct {
	Role         string  `json:"role"`
	Ready        int     `json:"ready"`
	Busy         int     `json:"busy"`
	Offline      int     `json:"offline"`
	Maintenance  int     `json:"maintenance"`
	MeanLoad     float64 `json:"mean_load"`
	Queued       int     `json:"queued"`
	InProgress   int     `json:"in_progress"`
	FinishedHour int     `json:"finished_last_hour"`
	SuccessRate  float64 `json:"success_rate_last_hour"`
}

// SwarmStatus is GET /swarm/status.
type SwarmStatus struct {
	Roles []RoleStatus `json:"roles"`
	At    time.Time    `json:"at"`
}

// Status summarizes the swarm by role.
func (s *Store) SwarmStatus(ctx context.Context) (SwarmStatus, error) {
	agents, err := s.Agents(ctx, "")
	if err != nil {
		return SwarmStatus{}, err
	}
	open, err := s.OpenTasks(ctx)
	if err != nil {
		return SwarmStatus{}, err
	}
	now := s.now()
	outcomes, err := s.OutcomesSince(ctx, now.Add(-time.Hour))
	if err != nil {
		return SwarmStatus{}, err
	}
	roleOf := map[string]string{}
	byRole := map[string]*RoleStatus{}
	for _, ag := range agents {
		roleOf[ag.ID] = ag.Role
		r := byRole[ag.Role]
		if r == nil {
			r = &RoleStatus{Role: ag.Role}
			byRole[ag.Role] = r
		}
		switch ag.Status {
		case "Ready":
			r.Ready++
		case "Busy":
			r.Busy++
		case "Offline":
			r.Offline++
		default:
			r.Maintenance++
		}
		r.MeanLoad += ag.CurrentLoad
	}
	for _, t := range open {
		if r := byRole[roleOf[t.AssignedAgent]]; r != nil {
			if t.Status == "Todo" {
				r.Queued++
			} else {
				r.InProgress++
			}
		}
	}
	successes := map[string]int{}
	for _, o := range outcomes {
		if r := byRole[roleOf[o.AgentID]]; r != nil {
			r.FinishedHour++
			if o.Success {
				successes[r.Role]++
			}
		}
	}
	out := SwarmStatus{Roles: []RoleStatus{}, At: now}
	for _, r := range byRole {
		n := r.Ready + r.Busy + r.Offline + r.Maintenance
		r.MeanLoad /= float64(n)
		if r.FinishedHour > 0 {
			r.SuccessRate = float64(successes[r.Role]) / float64(r.FinishedHour)
		}
		out.Roles = append(out.Roles, *r)
	}
	sort.Slice(out.Roles, func(i, j int) bool { return out.Roles[i].Role < out.Roles[j].Role })
	return out, nil
}

// SwarmAgent is one agent in GET /swarm/agents.
type SwarmAgent struct {
	Agent
	Tasks     []OpenTask  `json:"tasks"`
	TopSkills []Expertise `json:"top_task_types"`
}

// topSkills is how many task types GET /swarm/agents shows per agent.
const topSkills = 3

// SwarmAgents lists the agents with their open tasks in the given scopes and
// their best task types.
func (s *Store) SwarmAgents(ctx context.Context, scopes []string) ([]SwarmAgent, error) {
	agents, err := s.Agents(ctx, "")
	if err != nil {
		return nil, err
	}
	open, err := s.OpenTasksIn(ctx, scopes)
	if err != nil {
		return nil, err
	}
	exp, err := s.AllExpertise(ctx)
	if err != nil {
		return nil, err
	}
	tasks, skills := map[string][]OpenTask{}, map[string][]Expertise{}
	for _, t := range open {
		tasks[t.AssignedAgent] = append(tasks[t.AssignedAgent], t)
	}
	for _, e := range exp {
		skills[e.AgentID] = append(skills[e.AgentID], e)
	}
	out := make([]SwarmAgent, len(agents))
	for i, ag := range agents {
		sk := skills[ag.ID]
		sort.SliceStable(sk, func(i, j int) bool {
			return sk[i].SuccessRate*sk[i].Confidence > sk[j].SuccessRate*sk[j].Confidence
		})
		out[i] = SwarmAgent{Agent: ag, Tasks: append([]OpenTask{}, tasks[ag.ID]...), TopSkills: append([]Expertise{}, sk[:min(len(sk), topSkills)]...)}
	}
	return out, nil
}

// full records that agent has no room left (another instance filled it).
func (pl *planner) full(agent string) { pl.load[agent] = 1.0 }

// pickTied picks among the candidates that score as well as best an agent
// that the write sheds load of (no other instance is after its room), or
// else one at random.
func (pl *planner) pickTied(fit []Candidate, best Candidate) Candidate {
	top := best.score()
	var tied []Candidate
	for _, c := range fit {
		if c.score() < top-1e-9 {
			continue
		}
		if pl.freed[c.Agent.ID] > 0 {
			return c
		}
		tied = append(tied, c)
	}
	if len(tied) < 2 {
		return best
	}
	return tied[rand.IntN(len(tied))]
}
