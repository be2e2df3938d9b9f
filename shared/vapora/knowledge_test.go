package vapora

import (
	"testing"
	"time"
)

func TestCurveGroupsByTypeAndWeek(t *testing.T) {
	mon := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // ISO week 48
	execs := []PastExecution{
		{TaskType: "deploy", Success: false, DurationMs: 4000, At: mon},
		{TaskType: "deploy", Success: true, DurationMs: 2000, At: mon.Add(24 * time.Hour)},
		{TaskType: "deploy", Success: true, DurationMs: 1000, At: mon.Add(7 * 24 * time.Hour)},
		{TaskType: "review", Success: true, DurationMs: 500, At: mon},
	}
	exp := []Expertise{{AgentID: "a", TaskType: "deploy", SuccessRate: 0.8, Confidence: 0.15}, {AgentID: "a", TaskType: "docs"}}
	c := Curve("a", execs, exp)
	if len(c.Types) != 3 || c.Types[0].TaskType != "deploy" || c.Types[1].TaskType != "docs" {
		t.Fatalf("%+v", c.Types)
	}
	d := c.Types[0]
	want := []WeekPoint{{Week: "2026-W48", Executions: 2, SuccessRate: 0.5, MeanDurationMs: 3000},
		{Week: "2026-W49", Executions: 1, SuccessRate: 1, MeanDurationMs: 1000}}
	if len(d.Weeks) != 2 || d.Weeks[0] != want[0] || d.Weeks[1] != want[1] || d.Expertise == nil || d.Expertise.SuccessRate != 0.8 {
		t.Fatalf("%+v", d)
	}
	if len(c.Types[1].Weeks) != 0 || c.Types[1].Expertise == nil {
		t.Fatalf("a type with expertise and no executions: %+v", c.Types[1])
	}
}
