package auditlog

import (
	"context"
	"fmt"
	"sort"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Report is the result of verifying the log.
type Report struct {
	Entries int  `json:"entries"`
	Lanes   int  `json:"lanes"`
	Valid   bool `json:"valid"`
	// Checkpoint is the time of the checkpoint the log was held against
	// (empty if none was taken yet).
	Checkpoint string `json:"checkpoint,omitempty"`
	Problem    string `json:"problem,omitempty"`
}

type row struct {
	Lane  string `json:"lane"`
	Seq   int    `json:"seq"`
	Prev  string `json:"prev"`
	Hash  string `json:"hash"`
	Entry string `json:"entry"`
}

// name is how a report names an entry.
func name(lane string, seq int) string {
	if lane == "" {
		return fmt.Sprintf("entry %d", seq)
	}
	return fmt.Sprintf("entry %s/%d", lane, seq)
}

// Verify walks every lane from its first entry and checks each link with key,
// then holds the lanes against cp (nil: no checkpoint yet): every lane it
// names must still reach its head with the same link, and no lane-less entry
// goes beyond the legacy chain's frozen head (see legacy.go).
func Verify(ctx context.Context, db *surreal.Client, key []byte, cp *Checkpoint) (Report, error) {
	rows, err := surreal.Query[[]row](ctx, db, "SELECT lane ?? '' AS lane, seq, prev, hash, entry FROM audit_log", nil)
	if err != nil {
		return Report{}, fmt.Errorf("read audit log: %w", err)
	}
	lanes := map[string][]row{}
	for _, r := range rows {
		lanes[r.Lane] = append(lanes[r.Lane], r)
	}
	rep := Report{Entries: len(rows), Lanes: len(lanes), Valid: true}
	if cp != nil {
		rep.Checkpoint = cp.Time
	}
	fail := func(format string, args ...any) (Report, error) {
		rep.Valid, rep.Problem = false, fmt.Sprintf(format, args...)
		return rep, nil
	}
	frozen, err := LegacyHead(ctx, db, cp)
	if err != nil {
		return Report{}, err
	}
	if problem := checkLegacy(frozen, lanes[""]); problem != "" {
		return fail("%s", problem)
	}
	ids := make([]string, 0, len(lanes))
	for id := range lanes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if problem := verifyLane(key, id, lanes[id]); problem != "" {
			return fail("%s", problem)
		}
	}
	if cp == nil {
		return rep, nil
	}
	for _, id := range cp.laneIDs() {
		head, entries := cp.Lanes[id], lanes[id]
		switch {
		case len(entries) < head.Seq:
			return fail("%s and later were removed: the checkpoint of %s holds lane %q up to entry %d", name(id, len(entries)+1), cp.Time, id, head.Seq)
		case entries[head.Seq-1].Hash != head.Hash:
			return fail("%s is not the one the checkpoint of %s holds: the log was rewritten", name(id, head.Seq), cp.Time)
		}
	}
	return rep, nil
}

// checkLegacy holds the lane-less entries to the legacy chain's frozen head:
// none beyond it, and the entry at it is the one frozen.
func checkLegacy(frozen Head, entries []row) string {
	last := 0
	for _, r := range entries {
		last = max(last, r.Seq)
	}
	if problem := beyondLegacy(frozen, last); problem != "" {
		return problem
	}
	for _, r := range entries {
		if r.Seq == frozen.Seq && r.Hash != frozen.Hash {
			return fmt.Sprintf("%s is not the legacy chain's frozen end: the log was rewritten", name("", r.Seq))
		}
	}
	return ""
}

// verifyLane checks one lane's entries, and names the first break.
func verifyLane(key []byte, lane string, entries []row) string {
	sort.Slice(entries, func(i, j int) bool { return entries[i].Seq < entries[j].Seq })
	prev := Genesis
	for i, r := range entries {
		want := Link(key, prev, lane, r.Seq, r.Entry)
		if lane == "" {
			want = legacyLink(prev, r.Entry)
		}
		switch {
		case r.Seq != i+1:
			return fmt.Sprintf("%s is missing (found %d in its place)", name(lane, i+1), r.Seq)
		case r.Prev != prev:
			return fmt.Sprintf("%s does not follow %s", name(lane, r.Seq), name(lane, r.Seq-1))
		case r.Hash != want:
			return fmt.Sprintf("%s was modified", name(lane, r.Seq))
		}
		prev = r.Hash
	}
	return ""
}
