package vapora

import (
	"math"
	"slices"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestLearn(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	old, recent := now.Add(-30*24*time.Hour), now.Add(-time.Hour)
	for _, c := range []struct {
		name                        string
		execs                       []Execution
		rate, dur, recentW, confide float64
	}{
		{"nothing yet", nil, 0, 0, 0, 0},
		{"one recent success", []Execution{{true, 1000, recent}}, 1, 1000, 1, 0.05},
		{"recent failure outweighs an old success 3:1",
			[]Execution{{true, 1000, old}, {false, 3000, recent}}, 0.25, 2500, 0.75, 0.1},
		{"all old: plain average", []Execution{{true, 100, old}, {false, 300, old}}, 0.5, 200, 0, 0.1},
		{"confidence saturates at 20", repeat(Execution{true, 10, recent}, 25), 1, 10, 1, 1},
		{"exactly seven days is recent", []Execution{{true, 10, now.Add(-7 * 24 * time.Hour)}, {false, 10, old}}, 0.75, 10, 0.75, 0.1},
	} {
		rate, dur, rw, conf := Learn(c.execs, now)
		if !near(rate, c.rate) || !near(dur, c.dur) || !near(rw, c.recentW) || !near(conf, c.confide) {
			t.Errorf("%s: rate %v dur %v recent %v confidence %v; want %v %v %v %v", c.name, rate, dur, rw, conf, c.rate, c.dur, c.recentW, c.confide)
		}
	}
}

func repeat(e Execution, n int) []Execution {
	out := make([]Execution, n)
	for i := range out {
		out[i] = e
	}
	return out
}

func TestScore(t *testing.T) {
	for _, c := range []struct {
		load, rate, conf, want float64
	}{
		{0, 0, 0, 0.3},
		{1, 1, 1, 0.7},
		{0, 1, 1, 1},
		{0.5, 0.8, 0.5, 0.15 + 0.4 + 0.1},
		{2, -1, 3, 0.2}, // out-of-range inputs are clamped
	} {
		if got := Score(c.load, c.rate, c.conf); !near(got, c.want) {
			t.Errorf("Score(%v, %v, %v) = %v, want %v", c.load, c.rate, c.conf, got, c.want)
		}
	}
}

func TestBest(t *testing.T) {
	agent := func(id, status string, load float64) Agent { return Agent{ID: id, Status: status, CurrentLoad: load} }
	exp := func(rate, conf float64) *Expertise { return &Expertise{SuccessRate: rate, Confidence: conf} }
	for _, c := range []struct {
		name  string
		cands []Candidate
		want  string
	}{
		{"expertise beats a lighter load", []Candidate{{agent("a", "Ready", 0), exp(0.2, 1)}, {agent("b", "Ready", 0.5), exp(0.9, 1)}}, "b"},
		{"a busy or offline agent is never picked", []Candidate{{agent("a", "Busy", 0), exp(1, 1)}, {agent("b", "Offline", 0), exp(1, 1)}, {agent("c", "Ready", 0.9), nil}}, "c"},
		{"unproven agents rank by load", []Candidate{{agent("a", "Ready", 0.5), nil}, {agent("b", "Ready", 0.1), nil}}, "b"},
		{"ties go to the smaller id", []Candidate{{agent("z", "Ready", 0), nil}, {agent("m", "Ready", 0), nil}}, "m"},
		{"low confidence damps a perfect record", []Candidate{{agent("new", "Ready", 0), exp(1, 0.05)}, {agent("vet", "Ready", 0), exp(0.9, 1)}}, "vet"},
	} {
		got, ok := Best(c.cands)
		if !ok || got.Agent.ID != c.want {
			t.Errorf("%s: picked %q", c.name, got.Agent.ID)
		}
	}
	if _, ok := Best([]Candidate{{agent("a", "Maintenance", 0), nil}}); ok {
		t.Error("picked an agent in Maintenance")
	}
}

func TestMoves(t *testing.T) {
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{"Todo", "Doing", true}, {"Doing", "Review", true}, {"Review", "Done", true},
		{"Doing", "Todo", true}, {"Done", "Review", true},
		{"Todo", "Review", false}, {"Todo", "Done", false}, {"Done", "Todo", false}, {"Todo", "Todo", false}, {"Todo", "Nope", false},
	} {
		if slices.Contains(moves[c.from], c.to) != c.ok {
			t.Errorf("%s → %s: want %v", c.from, c.to, c.ok)
		}
	}
}
