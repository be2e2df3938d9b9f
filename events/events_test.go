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
