package form

import (
	"strings"
	"testing"
)

// An error message quotes a short value whole and a long one by a prefix
// and its length, cut on a character boundary.
func TestQuoteCutsLongValues(t *testing.T) {
	if got := Quote("design"); got != `"design"` {
		t.Fatalf("short: %s", got)
	}
	long := strings.Repeat("é", 1<<19) // 1 MiB
	got := Quote(long)
	if want := `"` + strings.Repeat("é", quoteMax) + `"… (1048576 bytes)`; got != want {
		t.Fatalf("long: %.200s", got)
	}
}

// A 1 MiB bad option, date or unknown key yields a message of a few hundred
// bytes, not one that repeats it.
func TestErrorsQuoteAPrefixOfBadValues(t *testing.T) {
	f := loadExample(t)
	big := strings.Repeat("z", 1<<20)
	r := f.Check(map[string]any{"department": big, "skills": []any{big, big}, big: 1})
	rules := map[string]int{}
	for _, e := range r.Errors {
		rules[e.Rule]++
		if len(e.Message) > 1000 {
			t.Fatalf("%.40s %s: a %d-byte message", e.Field, e.Rule, len(e.Message))
		}
	}
	if rules["options"] != 3 || rules["unknown"] != 1 {
		t.Fatalf("errors by rule: %v", rules)
	}
}
