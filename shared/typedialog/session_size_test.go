package typedialog

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

// A session's answers stay within MaxSessionAnswers however they are split
// over patches, also when two instances patch at once: the statement itself
// checks the merged size. Clearing an answer makes room again.
func TestSessionAnswersAreBoundedInAll(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	if _, err := s.CreateSession(ctx, "big", "f", "1", "me", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	part := strings.Repeat("x", MaxSessionAnswers*6/10)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, k := range []string{"a", "b"} {
		wg.Go(func() { _, errs[i] = s.PatchAnswers(ctx, sessionRef{ID: "big"}, map[string]any{k: part}, nil) })
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("both or neither landed: %v, %v", errs[0], errs[1])
	}
	if err := errors.Join(errs...); !errors.Is(err, ErrAnswersTooLarge) {
		t.Fatalf("the refused patch: %v", err)
	}
	cur, err := s.Session(ctx, "big")
	if err != nil || len(cur.Answers) != 1 || cur.Rev != 1 {
		t.Fatalf("after the race: %d answers, rev %d, %v", len(cur.Answers), cur.Rev, err)
	}
	// Many small patches reach the bound too.
	var last error
	for i := 0; i < 10 && last == nil; i++ {
		_, last = s.PatchAnswers(ctx, sessionRef{ID: "big"}, map[string]any{"c" + string(rune('0'+i)): strings.Repeat("y", MaxSessionAnswers/10)}, nil)
	}
	if !errors.Is(last, ErrAnswersTooLarge) {
		t.Fatalf("small patches: %v", last)
	}
	// The bound is in bytes: a character of four bytes counts four.
	if _, err := s.CreateSession(ctx, "emoji", "f", "1", "me", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PatchAnswers(ctx, sessionRef{ID: "emoji"}, map[string]any{"e": strings.Repeat("😀", MaxSessionAnswers/3)}, nil); !errors.Is(err, ErrAnswersTooLarge) {
		t.Fatalf("%d emoji (%d bytes): %v", MaxSessionAnswers/3, 4*(MaxSessionAnswers/3), err)
	}
	// Replacing the large answer by a nil and setting another fits.
	kept := "a"
	if _, ok := cur.Answers["b"]; ok {
		kept = "b"
	}
	if got, err := s.PatchAnswers(ctx, sessionRef{ID: "big"}, map[string]any{kept: nil, "d": "short"}, nil); err != nil || got.Answers["d"] != "short" {
		t.Fatalf("clearing: %v", err)
	}
}

// Over the API: answers split over patches cannot grow a session past the
// 1 MiB a submission may hold; the refusal is a 413 naming the limit, and a
// bad long answer is quoted by a prefix only.
func TestPatchPastTheSessionLimitIs413(t *testing.T) {
	h := formsAPI(t)
	expect(t, h, "admin", "POST", "/forms", exampleUpload(t, example(t), nil), 201)
	sid := expect(t, h, "ann", "POST", "/forms/example_form/sessions", "", 201).body["id"].(string)
	part := strings.Repeat("x", MaxSessionAnswers*6/10)
	p := expect(t, h, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"department":"`+part+`"}}`, 200)
	if len(p.raw) > MaxSessionAnswers*7/10 {
		t.Fatalf("the answer repeats the bad value: %d bytes", len(p.raw))
	}
	a := expect(t, h, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"email":"`+part+`"}}`, 413)
	if !strings.Contains(a.raw, "1048576") {
		t.Fatalf("413 without the limit: %s", a.raw)
	}
	expect(t, h, "ann", "PATCH", "/sessions/"+sid, `{"answers":{"department":null,"email":"`+part+`"}}`, 200)
}
