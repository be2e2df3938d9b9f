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
		"東京データセンター":                          {"東京", "京デ", "デー", "ータ", "タセ", "セン", "ンタ", "ター"},
		"テ\u3099ータ, 東京DC と 9":                {"デー", "ータ", "東京", "dc", "と", "9"},
		"नमस्ते दुनिया":                      {"नमस्ते", "दुनिया"},
		"كَتَبَ كتب שָׁלוֹם":                 {"كتب", "كتب", "שלום"},
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

// A word inside a run of Japanese is found, and kana's voicing marks are
// spelling, not accents: テータ does not begin as データ does.
func TestSearchInScriptsWithoutSpaces(t *testing.T) {
	x := New(nil)
	x.put(&indexRow{ID: "dc", Title: "東京データセンター", Content: "移行の計画"})
	x.put(&indexRow{ID: "other", Title: "大阪", Content: "テスト"})
	for query, want := range map[string]string{"東京": "dc", "データ": "dc", "計画": "dc", "テスト": "other"} {
		if hits := x.Text(Analyze(query), Filter{}, 10); len(hits) != 1 || hits[0].ID != want {
			t.Errorf("%s: %+v, want %s", query, hits, want)
		}
	}
	if got := Analyze("テータ"); got[0] != "テー" {
		t.Errorf("テータ analyzed as %q", got)
	}
}
