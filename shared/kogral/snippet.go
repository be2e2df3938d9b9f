package kogral

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stratumiops/stratumiops/shared/kogral/index"
)

// snippetRunes is about how long a snippet is.
const snippetRunes = 240

// snippet is the stretch of text around the first place that holds the
// most of the query's words (stems, matched as the starts of words, case
// and accents aside as the analyzer folds them; a pair of CJK characters
// anywhere in a run), each written **word**; the start of text when none
// is there.
func snippet(text string, terms []string) string {
	words := index.WithoutStopwords(index.UniqueWords(terms))
	type span struct{ start, end int }
	var hits []span
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if !isWordRune(r) {
			i += n
			continue
		}
		j := i
		for j < len(text) {
			r, n := utf8.DecodeRuneInString(text[j:])
			if !isWordRune(r) {
				break
			}
			j += n
		}
		low := index.Fold(text[i:j])
		for _, w := range words {
			if strings.HasPrefix(low, w) || startsCJK(w) && strings.Contains(low, w) {
				hits = append(hits, span{i, j})
				break
			}
		}
		i = j
	}
	// The window of snippetRunes bytes·4 or so that starts at the hit with
	// the most hits after it.
	from, best := 0, 0
	for i, h := range hits {
		n := 0
		for _, o := range hits[i:] {
			if o.end-h.start > snippetRunes {
				break
			}
			n++
		}
		if n > best {
			best, from = n, h.start
		}
	}
	start := max(0, from-snippetRunes/4)
	for start > 0 && !utf8.RuneStart(text[start]) {
		start--
	}
	end := min(len(text), start+snippetRunes)
	for end < len(text) && !utf8.RuneStart(text[end]) {
		end++
	}
	var b strings.Builder
	if start > 0 {
		b.WriteString("…")
	}
	at := start
	for _, h := range hits {
		if h.start < start || h.end > end {
			continue
		}
		b.WriteString(text[at:h.start])
		b.WriteString("**" + text[h.start:h.end] + "**")
		at = h.end
	}
	b.WriteString(text[at:end])
	if end < len(text) {
		b.WriteString("…")
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.In(r, unicode.Mn)
}

// startsCJK reports a word of the scripts the analyzer cuts into pairs of
// characters: such a term is found inside a run, not only at its start.
func startsCJK(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return index.CJK(r)
}
