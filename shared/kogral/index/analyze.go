package index

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
	"golang.org/x/text/unicode/norm"
)

// The analyzer, in process: what SurrealDB's `kogral` analyzer (blank,
// class and punct tokenizers; lowercase, ascii and snowball(english)
// filters) gave each node as its stored `terms` until
// schemas/surreal/kogral/005. Words are runs of letters or of digits (a
// change of class, a blank or a punctuation mark ends one), lower-cased,
// their accents taken off, and English words stemmed (Snowball's English
// stemmer, as SurrealDB's). A node's terms were a third of its record and
// their analysis and storage about two thirds of SurrealDB's CPU per
// imported node; nothing but this index read them.

// Analyze is text's words as the index keeps them, in order.
func Analyze(text string) []string {
	var out []string
	env := snowballstem.NewEnv("")
	var buf []byte
	eachWord(text, func(w string) {
		buf = foldWord(buf[:0], w)
		out = append(out, stem(env, string(buf)))
	})
	return out
}

// DocumentText is what a node's terms are drawn from: its title twice (a
// title word counts double), its tags, its content.
func DocumentText(title string, tags []string, content string) string {
	return title + " " + title + " " + strings.Join(tags, " ") + " " + content
}

// eachWord calls f with each word of text: a run of letters or a run of
// digits.
func eachWord(text string, f func(string)) {
	start, class := -1, 0
	for i, r := range text {
		c := runeClass(r)
		if c != class && start >= 0 {
			f(text[start:i])
			start = -1
		}
		if c != 0 && start < 0 {
			start = i
		}
		class = c
	}
	if start >= 0 {
		f(text[start:])
	}
}

// runeClass is 1 for a letter (or a combining mark, which stays with its
// letter), 2 for a digit, 0 for anything that ends a word.
func runeClass(r rune) int {
	switch {
	case r < utf8.RuneSelf:
		switch {
		case 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z':
			return 1
		case '0' <= r && r <= '9':
			return 2
		}
		return 0
	case unicode.IsLetter(r) || unicode.Is(unicode.Mn, r):
		return 1
	case unicode.IsDigit(r):
		return 2
	}
	return 0
}

// foldWord appends w lower-cased and without accents to buf.
func foldWord(buf []byte, w string) []byte {
	ascii := true
	for i := 0; i < len(w); i++ {
		if w[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		for i := 0; i < len(w); i++ {
			c := w[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf = append(buf, c)
		}
		return buf
	}
	for _, r := range norm.NFD.String(w) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		r = unicode.ToLower(r)
		if s, ok := foldings[r]; ok {
			buf = append(buf, s...)
			continue
		}
		buf = utf8.AppendRune(buf, r)
	}
	return buf
}

// foldings are the Latin letters that no decomposition takes to ASCII.
var foldings = map[rune]string{'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th", 'ı': "i"}

// stem is w's English stem; words with other than ASCII letters are kept
// as they are.
func stem(env *snowballstem.Env, w string) string {
	if len(w) < 3 {
		return w
	}
	for i := 0; i < len(w); i++ {
		if c := w[i]; c < 'a' || c > 'z' {
			return w
		}
	}
	env.SetCurrent(w)
	english.Stem(env)
	return env.Current()
}

// analyzer numbers a document's words for the index, remembering each
// folded word's term so that a word is stemmed once per index.
type analyzer struct {
	env   *snowballstem.Env
	buf   []byte
	terms map[string]uint32 // folded word → term number
}

func newAnalyzer() *analyzer {
	return &analyzer{env: snowballstem.NewEnv(""), terms: map[string]uint32{}}
}

// seq appends to seq the term numbers of text's words, numbering new
// terms with termID.
func (a *analyzer) seq(seq []uint32, text string, termID func(string) uint32) []uint32 {
	eachWord(text, func(w string) {
		a.buf = foldWord(a.buf[:0], w)
		id, ok := a.terms[string(a.buf)]
		if !ok {
			key := string(a.buf)
			id = termID(stem(a.env, key))
			a.terms[key] = id
		}
		seq = append(seq, id)
	})
	return seq
}
