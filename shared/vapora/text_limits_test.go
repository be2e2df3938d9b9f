package vapora

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// A task's description over 65 536 characters, or a title over 500 bytes, is
// a 400 naming the field and its limit, before anything is stored; at the
// limit (in characters, not bytes) it passes.
func TestTaskTextIsBounded(t *testing.T) {
	str := func(s string) *string { return &s }
	long := strings.Repeat("é", maxDescription) // 2 bytes a character
	if err := checkTaskText(taskInput{Title: str("t"), Description: &long}); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	cases := map[string]taskInput{
		"description: at most 65536 characters (got 65537)": {Description: str(long + "x")},
		"title: required, at most 500 bytes (got 501)":      {Title: str(strings.Repeat("t", 501))},
	}
	for want, in := range cases {
		var he *httpapi.Error
		if err := checkTaskText(in); !errors.As(err, &he) || he.Status != http.StatusBadRequest || he.Message != want {
			t.Fatalf("got %v, want 400 %q", err, want)
		}
	}
	// The handler refuses it before it reads the project (the API has no store here).
	body := `{"project_id":"p1","title":"t","description":"` + strings.Repeat("a", maxDescription+1) + `"}`
	err := (&API{}).createTask(httptest.NewRecorder(), httptest.NewRequest("POST", "/tasks", strings.NewReader(body)))
	var he *httpapi.Error
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest || !strings.Contains(he.Message, "description: at most 65536") {
		t.Fatalf("createTask: %v", err)
	}
	var he2 *httpapi.Error
	if err := checkDescription("tasks[3].description", str(strings.Repeat("a", maxDescription+1))); !errors.As(err, &he2) ||
		he2.Message != "tasks[3].description: at most 65536 characters (got 65537)" {
		t.Fatalf("a project's or swarm task's description: %v", err)
	}
}

// A board page of many tasks with the longest descriptions stays within
// maxPageBytes: every column keeps its first tasks, the answer says
// truncated; a page that fits is answered whole.
func TestBoardPageIsBoundedInBytes(t *testing.T) {
	desc := strings.Repeat("é\"", maxDescription/2)
	var p Page
	for _, st := range []string{"Todo", "Doing", "Done"} {
		n := map[string]int{"Todo": 40, "Doing": 3, "Done": 40}[st]
		for i := range n {
			p.Tasks = append(p.Tasks, Task{ID: fmt.Sprint(st, i), Title: "t", Description: &desc, Status: st, Order: i, Tags: []string{}})
		}
	}
	got := boundPage(p)
	if !got.Truncated || httpapi.PayloadSize(got.Tasks) > maxPageBytes {
		t.Fatalf("truncated %v, %d bytes", got.Truncated, httpapi.PayloadSize(got.Tasks))
	}
	next := map[string]int{}
	for _, task := range got.Tasks {
		if task.Order != next[task.Status] {
			t.Fatalf("column %s skips to order %d", task.Status, task.Order)
		}
		next[task.Status]++
	}
	if next["Doing"] != 3 || next["Todo"] < 5 || next["Done"] < next["Todo"]-1 {
		t.Fatalf("kept by column: %v", next)
	}
	small := Page{Tasks: p.Tasks[:3]}
	if got := boundPage(small); got.Truncated || len(got.Tasks) != 3 {
		t.Fatalf("a small page: %+v", got)
	}
}
