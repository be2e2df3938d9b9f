package index

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// BM25 as SurrealDB defines it (k1 1.2, b 0.75), checked by hand on a
// three-document corpus.
func TestBM25Scores(t *testing.T) {
	x := New(nil)
	for _, r := range []indexRow{
		{ID: "a", Content: "Caching, caches: ledger."},
		{ID: "b", Content: "cached queue queues queue"},
		{ID: "c", Content: "ledger queueing"},
	} {
		x.put(&r)
	}
	got := x.Text([]string{"cach", "ledger"}, Filter{}, 10)
	// Only a has both terms, side by side: first, its BM25 boosted 1.5 for
	// the phrase; b and c, with one each, after it. N=3, avgdl=(3+4+2)/3=3,
	// |a|=3 (the '.' is not a word).
	idf := func(df float64) float64 { return math.Log(1 + (3-df+0.5)/(df+0.5)) }
	want := (idf(2)*2*2.2/(2+1.2) + idf(2)*1*2.2/(1+1.2)) * 1.5
	if len(got) != 3 || got[0].ID != "a" || math.Abs(got[0].Score-want) > 1e-9 {
		t.Fatalf("cach ledger: %+v, want a at %v", got, want)
	}
	// No document has both: any term counts, Ranked by score.
	got = x.Text([]string{"ledger", "queue", "zeppelin"}, Filter{}, 10)
	if len(got) != 3 || got[0].ID != "c" {
		t.Fatalf("ledger queue zeppelin: %+v, want c first (both terms, shortest)", got)
	}
	x.remove("c")
	if got = x.Text([]string{"ledger"}, Filter{}, 10); len(got) != 1 || got[0].ID != "a" {
		t.Fatalf("after removing c: %+v", got)
	}
}

func TestTopKKeepsTheBest(t *testing.T) {
	var all []Ranked
	best := NewTopK(5)
	for i := range 200 {
		r := Ranked{ID: fmt.Sprintf("n%03d", i), Score: float64((i * 37) % 23)}
		all = append(all, r)
		best.Offer(r.ID, r.Score)
	}
	slices.SortFunc(all, func(a, b Ranked) int {
		if better(a, b) {
			return -1
		}
		return 1
	})
	if got := best.Sorted(); !slices.Equal(got, all[:5]) {
		t.Fatalf("top 5: %v, want %v", got, all[:5])
	}
}

// lastAnswer answers as visible does, asking it again only when the graph
// changes from one call to the next.
func TestLastAnswerAsksOncePerRun(t *testing.T) {
	if lastAnswer(nil) != nil {
		t.Fatal("no visibility filter became one")
	}
	asked := 0
	visible := lastAnswer(func(graph string) bool { asked++; return graph != "secret" })
	var got []bool
	for _, g := range []string{"web", "web", "secret", "secret", "web", "secret"} {
		got = append(got, visible(g))
	}
	if want := []bool{true, true, false, false, true, false}; !slices.Equal(got, want) || asked != 4 {
		t.Fatalf("answers %v (want %v), visible asked %d times (want 4)", got, want, asked)
	}
}
