package index

import (
	"slices"
	"testing"
)

// The analyzer splits words at blanks, punctuation and changes between
// letters and digits, lower-cases them, takes accents off and stems
// English words; other scripts stay as they are.
func TestAnalyze(t *testing.T) {
	for text, want := range map[string][]string{
		"How do I rotate the Vault token?":   {"how", "do", "i", "rotat", "the", "vault", "token"},
		"Caching reads, with a TTL (v2.1)":   {"cach", "read", "with", "a", "ttl", "v", "2", "1"},
		"[[Deploy Checklist]] #release-plan": {"deploy", "checklist", "releas", "plan"},
		"Café crème, Straße; ÆON":            {"cafe", "creme", "strass", "aeon"},
		"Привет мир — 東京 2024_01_02":         {"привет", "мир", "東京", "2024", "01", "02"},
		"`code [with] brackets` don't":       {"code", "with", "bracket", "don", "t"},
		"":                                   nil,
	} {
		if got := Analyze(text); !slices.Equal(got, want) {
			t.Errorf("Analyze(%q) = %q, want %q", text, got, want)
		}
	}
}

// A node's words are numbered through the analyzer's memory of each
// folded word: the same stems as Analyze, the title counted twice.
func TestDocumentTerms(t *testing.T) {
	x := New(nil)
	x.put(&indexRow{ID: "n", Title: "Queue Retry", Tags: []string{"ops"}, Content: "Retrying queues."})
	d := x.docs[x.slots["n"]]
	var got []string
	for _, id := range d.seq {
		got = append(got, x.words[id])
	}
	want := []string{"queue", "retri", "queue", "retri", "op", "retri", "queue"}
	if !slices.Equal(got, want) || d.length != len(want) {
		t.Fatalf("terms %q (length %d), want %q", got, d.length, want)
	}
	if hits := x.Text(Analyze("retry the queue"), Filter{}, 10); len(hits) != 1 || hits[0].ID != "n" {
		t.Fatalf("search: %+v", hits)
	}
}
