package typedialog

// A session's answers as this instance last wrote or read them, at their
// revision, so that a submission right after a patch on the same instance
// validates them without reading the session again. The copy is only a
// guess: Store.Submit commits only at that revision (checked in the
// statement), and a submission whose copy was stale (another instance
// patched or submitted the session) reads the session and tries once more.

// Bounds on the answers an instance keeps: per session, and in all (past
// it, every copy is dropped and sessions are read again), counting each
// session's maps and strings (keptOverhead) besides its answers' bytes,
// and at most as many sessions as it keeps owners of.
const (
	maxKeptAnswers      = 64 << 10
	maxKeptAnswersTotal = 16 << 20
	keptOverhead        = 256
)

// keptAnswers is a session's answers at revision rev, and their approximate size.
type keptAnswers struct {
	rev     int64
	answers map[string]any
	size    int
}

// keep remembers an open session's answers at their revision, unless this
// instance already has a later one or they are too large to keep.
func (a *API) keep(s sessionRow) {
	if s.Status != "open" {
		a.forget(s.ID)
		return
	}
	size := keptOverhead + approxSize(s.Answers)
	a.mu.Lock()
	defer a.mu.Unlock()
	old, had := a.answers[s.ID]
	if had && old.rev > s.Rev {
		return
	}
	a.answersSize -= old.size
	delete(a.answers, s.ID)
	if size > maxKeptAnswers {
		return
	}
	if a.answersSize+size > maxKeptAnswersTotal || len(a.answers) >= maxSessionRefs {
		clear(a.answers)
		a.answersSize = 0
	}
	a.answers[s.ID] = keptAnswers{rev: s.Rev, answers: s.Answers, size: size}
	a.answersSize += size
}

// kept is the session at the revision this instance last saw, open, or
// false when it keeps no answers for it.
func (a *API) kept(ref sessionRef) (sessionRow, bool) {
	a.mu.Lock()
	k, ok := a.answers[ref.ID]
	a.mu.Unlock()
	if !ok {
		return sessionRow{}, false
	}
	return sessionRow{ID: ref.ID, FormID: ref.FormID, Version: ref.Version, Owner: ref.Owner,
		Answers: k.answers, Rev: k.rev, Status: "open"}, true
}

// forget drops a session's kept answers.
func (a *API) forget(id string) {
	a.mu.Lock()
	a.answersSize -= a.answers[id].size
	delete(a.answers, id)
	a.mu.Unlock()
}

// approxSize is about the bytes answers take in memory: their JSON's, and
// 16 for a number or boolean (an interface value).
func approxSize(v any) int {
	switch x := v.(type) {
	case string:
		return len(x) + 2
	case map[string]any:
		n := 2
		for k, e := range x {
			n += len(k) + 4 + approxSize(e)
		}
		return n
	case []any:
		n := 2
		for _, e := range x {
			n += 1 + approxSize(e)
		}
		return n
	}
	return 16
}
