package vapora

import (
	"math"
	"sort"
	"time"
)

// Learning: each execution of a task type by an agent counts once, or three
// times when it is from the last seven days, so that recent behaviour
// dominates. Confidence damps small samples: min(1, n/20).
const (
	recentWindow     = 7 * 24 * time.Hour
	recentFactor     = 3.0
	confidenceSample = 20.0
)

// Execution is one recorded result of an agent.
type Execution struct {
	Success    bool      `json:"success"`
	DurationMs int64     `json:"duration_ms"`
	At         time.Time `json:"at"`
}

// Learn computes the expertise profile of a set of executions at now.
func Learn(execs []Execution, now time.Time) (successRate, avgDurationMs, recentWeight, confidence float64) {
	if len(execs) == 0 {
		return 0, 0, 0, 0
	}
	var weight, successes, duration, recent float64
	for _, e := range execs {
		w := 1.0
		if now.Sub(e.At) <= recentWindow {
			w = recentFactor
			recent += w
		}
		weight += w
		if e.Success {
			successes += w
		}
		duration += w * float64(e.DurationMs)
	}
	return successes / weight, duration / weight, recent / weight, math.Min(1, float64(len(execs))/confidenceSample)
}

// Score ranks an agent for a task: 0.3·(1−load) + 0.5·expertise + 0.2·confidence,
// where expertise is the success rate on the task type (0 when unseen).
func Score(load, successRate, confidence float64) float64 {
	return 0.3*(1-clamp01(load)) + 0.5*clamp01(successRate) + 0.2*clamp01(confidence)
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

// Candidate is an agent with its expertise on the task's type.
type Candidate struct {
	Agent     Agent
	Expertise *Expertise
}

// score of a candidate.
func (c Candidate) score() float64 {
	if c.Expertise == nil {
		return Score(c.Agent.CurrentLoad, 0, 0)
	}
	return Score(c.Agent.CurrentLoad, c.Expertise.SuccessRate, c.Expertise.Confidence)
}

// Best picks the highest-scoring Ready candidate; ties go to the lower load,
// then the smaller id, so the choice is deterministic.
func Best(cands []Candidate) (Candidate, bool) {
	ready := make([]Candidate, 0, len(cands))
	for _, c := range cands {
		if c.Agent.Status == "Ready" {
			ready = append(ready, c)
		}
	}
	if len(ready) == 0 {
		return Candidate{}, false
	}
	sort.SliceStable(ready, func(i, j int) bool {
		si, sj := ready[i].score(), ready[j].score()
		if si != sj {
			return si > sj
		}
		if ready[i].Agent.CurrentLoad != ready[j].Agent.CurrentLoad {
			return ready[i].Agent.CurrentLoad < ready[j].Agent.CurrentLoad
		}
		return ready[i].Agent.ID < ready[j].Agent.ID
	})
	return ready[0], true
}
