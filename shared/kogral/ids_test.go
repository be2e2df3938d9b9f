package kogral

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The loops that check ids and graph names say what the regular
// expressions they replace said, on names built from every kind of
// character they tell apart, around both length limits.
func TestIDPatternIsTheRegexp(t *testing.T) {
	for _, c := range []struct {
		p    namePattern
		want *regexp.Regexp
	}{
		{idPattern, regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{Lm}\p{Nd}][\p{Ll}\p{Lo}\p{Lm}\p{Mn}\p{Mc}\p{Nd}._-]{0,127}$`)},
		{graphPattern, regexp.MustCompile(`^[\p{Ll}\p{Lo}\p{Lm}\p{Nd}][\p{Ll}\p{Lo}\p{Lm}\p{Mn}\p{Mc}\p{Nd}._-]{0,63}$`)},
	} {
		// Lower and upper case (ASCII, Greek), a CJK letter (Lo), a modifier
		// letter (Lm), Arabic-Indic and ASCII digits, a non-spacing and a
		// spacing mark, punctuation allowed and not, a space, a symbol, an
		// invalid byte and the replacement character.
		parts := []string{"a", "z", "A", "Z", "é", "É", "λ", "Λ", "中", "ʰ", "٣", "0", "9", "\u0301", "\u0903",
			".", "_", "-", "/", ":", " ", "€", "\xff", "\ufffd", "ß", "ǅ"}
		check := func(s string) {
			t.Helper()
			if got, want := c.p.MatchString(s), c.want.MatchString(s); got != want {
				t.Fatalf("%q (limit %d): loop says %v, regexp %v", s, c.p.maxRunes, got, want)
			}
		}
		check("")
		for _, a := range parts {
			check(a)
			for _, b := range parts {
				check(a + b)
				check(a + "x" + b)
			}
		}
		for _, n := range []int{c.p.maxRunes - 1, c.p.maxRunes, c.p.maxRunes + 1} {
			check(strings.Repeat("a", n))
			check(strings.Repeat("中", n))
			check("a" + strings.Repeat("\u0301", n-1))
		}
		rng := rand.New(rand.NewPCG(7, 9))
		for range 20000 {
			var b strings.Builder
			for range rng.IntN(c.p.maxRunes + 3) {
				if rng.IntN(4) == 0 {
					b.WriteString(parts[rng.IntN(len(parts))])
				} else {
					b.WriteByte("abcxyz0189._-"[rng.IntN(13)])
				}
			}
			check(b.String())
		}
	}
}
