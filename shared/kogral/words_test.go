package kogral

import (
	"testing"

	"github.com/stratumiops/stratumiops/shared/kogral/index"
)

// A search hit names the block holding the query's words as the index
// reads them: accents folded, stems, whole words only.
func TestMatchingBlockReadsWordsAsTheIndex(t *testing.T) {
	n := Node{Metadata: map[string]any{"source": "logseq"}, Content: "- The analysis of the service\n" +
		"- This is about naïve caching\n" +
		"  - Réunion notes: 東京データセンター\n"}
	for query, want := range map[string]string{"is": "This is about naïve caching", "naive caches": "This is about naïve caching",
		"reunion": "Réunion notes: 東京データセンター", "データ": "Réunion notes: 東京データセンター", "services": "The analysis of the service"} {
		b := matchingBlock(n, index.Analyze(query))
		if b == nil || b.Content != want {
			t.Errorf("%q: %+v, want the block %q", query, b, want)
		}
	}
	if b := matchingBlock(n, index.Analyze("vault")); b != nil {
		t.Errorf("vault: %+v", b)
	}
}

// A snippet marks the query's words as the index reads them: stems at the
// start of a word, accents aside, a CJK pair anywhere in its run.
func TestSnippetMarksWordsAsTheIndex(t *testing.T) {
	for query, want := range map[string]string{
		"naive caches": "This is about **naïve** **caching** in the 東京データセンター",
		"データ":          "This is about naïve caching in the **東京データセンター**",
		"vault":        "This is about naïve caching in the 東京データセンター",
	} {
		if got := snippet("This is about naïve caching in the 東京データセンター", index.Analyze(query)); got != want {
			t.Errorf("%q: %q, want %q", query, got, want)
		}
	}
}
