package typedialog

import (
	"strings"
	"testing"
)

// An instance keeps the latest revision of an open session's answers, and
// only small ones.
func TestKeptAnswers(t *testing.T) {
	a := NewAPI(nil, nil, nil, nil)
	ref := sessionRef{ID: "s", Owner: "ann", FormID: "f", Version: "1"}
	a.keep(sessionRow{ID: "s", Rev: 2, Status: "open", Answers: map[string]any{"a": "two"}})
	a.keep(sessionRow{ID: "s", Rev: 1, Status: "open", Answers: map[string]any{"a": "one"}}) // a patch answered late
	if s, ok := a.kept(ref); !ok || s.Rev != 2 || s.Answers["a"] != "two" || s.FormID != "f" || s.Status != "open" {
		t.Fatalf("kept %+v %v", s, ok)
	}
	a.keep(sessionRow{ID: "s", Rev: 3, Status: "submitted"})
	if _, ok := a.kept(ref); ok || a.answersSize != 0 {
		t.Fatalf("a submitted session's answers are kept (%d bytes)", a.answersSize)
	}
	big := map[string]any{"a": strings.Repeat("x", maxKeptAnswers)}
	a.keep(sessionRow{ID: "s", Rev: 4, Status: "open", Answers: map[string]any{"a": "small"}})
	a.keep(sessionRow{ID: "s", Rev: 5, Status: "open", Answers: big})
	if _, ok := a.kept(ref); ok || a.answersSize != 0 {
		t.Fatalf("large answers are kept, or their older copy (%d bytes)", a.answersSize)
	}
	// Past the total bound, every copy is dropped.
	mid := map[string]any{"a": strings.Repeat("x", maxKeptAnswers/2)}
	for i := range 2 * maxKeptAnswersTotal / maxKeptAnswers {
		a.keep(sessionRow{ID: "s" + string(rune('A'+i%26)) + strings.Repeat("i", i/26), Rev: 0, Status: "open", Answers: mid})
		if a.answersSize > maxKeptAnswersTotal {
			t.Fatalf("%d bytes kept", a.answersSize)
		}
	}
}
