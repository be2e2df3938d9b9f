package form

import (
	"fmt"
	"unicode/utf8"
)

// quoteMax is how many characters of a value an error message quotes.
const quoteMax = 64

// Quote quotes s for an error message: in full when short, else its first
// quoteMax characters followed by how long it is, so that a bad 1 MB answer
// is not repeated in every message about it.
func Quote(s string) string {
	if utf8.RuneCountInString(s) <= quoteMax {
		return fmt.Sprintf("%q", s)
	}
	cut := 0
	for range quoteMax {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:cut], len(s))
}
