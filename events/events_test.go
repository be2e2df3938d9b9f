package events_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/events"
)

// Each fixture decodes strictly into its type, validates, and round-trips.
func TestFixtures(t *testing.T) {
	fixtures := map[string]any{
		events.SubjectExecutionRecorded: &events.ExecutionRecorded{},
		events.SubjectTaskAssign:        &events.TaskAssignment{},
		events.SubjectTaskResult:        &events.TaskResult{},
		events.SubjectAgentHeartbeat:    &events.Heartbeat{},
		events.SubjectAgentRegister:     &events.AgentRegistration{},
		events.SubjectTaskReleased:      &events.TaskReleased{},
		events.SubjectBoardRepaired:     &events.BoardRepaired{},
		events.SubjectTasksChanged:      &events.TasksChanged{},
		events.SubjectAgentsChanged:     &events.AgentsChanged{},
		events.SubjectPipelineStage:     &events.StageEvent{},
		events.SubjectPipelineApproval:  &events.ApprovalRequest{},
		events.SubjectWorkflowSubmitted: &events.WorkflowEvent{},
		events.SubjectWorkflowRollback:  &events.WorkflowEvent{},
		events.SubjectTaskReady:         &events.TaskEvent{},
		events.SubjectTaskDone:          &events.TaskEvent{},
		events.SubjectExportRequested:   &events.ExportRequested{},
	}
	files, _ := filepath.Glob("testdata/*.json")
	if len(files) != len(fixtures) {
		t.Fatalf("%d fixtures for %d event types", len(files), len(fixtures))
	}
	for subject, v := range fixtures {
		raw, err := os.ReadFile(filepath.Join("testdata", subject+".json"))
		if err != nil {
			t.Fatalf("fixture of %s: %v", subject, err)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		if err := v.(interface{ Validate() error }).Validate(); err != nil {
			t.Fatalf("%s: %v", subject, err)
		}
		again, _ := json.Marshal(v)
		var a, b any
		_ = json.Unmarshal(raw, &a)
		_ = json.Unmarshal(again, &b)
		aj, _ := json.Marshal(a)
		bj, _ := json.Marshal(b)
		if string(aj) != string(bj) {
			t.Fatalf("%s does not round-trip:\n%s\n%s", subject, aj, bj)
		}
	}
}

func TestExecutionRecordedValidation(t *testing.T) {
	raw, _ := os.ReadFile("testdata/portfolio.executions.recorded.json")
	var good events.ExecutionRecorded
	_ = json.Unmarshal(raw, &good)
	empty := ""
	cases := map[string]func(*events.ExecutionRecorded){
		"id":          func(e *events.ExecutionRecorded) { e.ID = "has space" },
		"project":     func(e *events.ExecutionRecorded) { e.Project = "" },
		"source":      func(e *events.ExecutionRecorded) { e.Source = "Vapora!" },
		"task_type":   func(e *events.ExecutionRecorded) { e.TaskType = "" },
		"agent_id":    func(e *events.ExecutionRecorded) { e.AgentID = &empty },
		"status":      func(e *events.ExecutionRecorded) { e.Status = "" },
		"duration_ms": func(e *events.ExecutionRecorded) { e.DurationMs = -1 },
		"occurred_at": func(e *events.ExecutionRecorded) { e.OccurredAt = time.Time{} },
	}
	for field, mutate := range cases {
		e := good
		mutate(&e)
		err := e.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), field) {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

func TestVaporaValidation(t *testing.T) {
	for name, c := range map[string]struct {
		v    interface{ Validate() error }
		want string
	}{
		"unknown role":     {events.AgentRegistration{ID: "r1", AgentID: "a1", Role: "Wizard"}, `role "Wizard": want one of Architect`},
		"unknown status":   {events.Heartbeat{ID: "h1", AgentID: "a1", Status: "Sleeping"}, `status "Sleeping"`},
		"load over 1":      {events.Heartbeat{ID: "h1", AgentID: "a1", Status: "Ready", CurrentLoad: 1.5}, "current_load"},
		"result status":    {events.TaskResult{ID: "r1", TaskID: "t1", AgentID: "a1", Status: "ok"}, "want success or failure"},
		"missing task_id":  {events.TaskAssignment{ID: "x1", AgentID: "a1", TaskType: "t"}, "task_id"},
		"unknown provider": {events.AgentRegistration{ID: "r1", AgentID: "a1", Role: "Tester", Provider: "Grok"}, "provider"},
	} {
		if err := c.v.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}
