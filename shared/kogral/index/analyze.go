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
// accents and vowel points taken off (not the marks that spell: kana's
// voicing marks, Indic vowel signs), and English
// words stemmed (Snowball's English stemmer, as SurrealDB's). Chinese,
// Japanese and Korean, written without spaces, are cut into overlapping
// pairs of characters (as Lucene's CJK analyzer does), so that a word
// inside a longer run is found: 東京データ gives 東京 京デ デー ータ. A node's
// terms were a third of its record and their analysis and storage about
// two thirds of SurrealDB's CPU per imported node; nothing but this index
// read them.

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

// Classes of runes: what ends a word, letters, digits, and the letters of
// the scripts written without spaces (cjk).
const (
	classNone = iota
	classLetter
	classDigit
	classCJK
)

// eachWord calls f with each word of text: a run of letters, a run of
// digits, or a pair of neighbouring characters of a CJK run (the run
// itself when it is one character).
func eachWord(text string, f func(string)) {
	start, class := -1, classNone
	emit := func(end int) {
		if class == classCJK {
			cjkPairs(text[start:end], f)
		} else {
			f(text[start:end])
		}
	}
	for i, r := range text {
		c := runeClass(r)
		if c != class && start >= 0 && !(class == classCJK && unicode.Is(unicode.M, r)) {
			emit(i)
			start = -1
		}
		if c != classNone && start < 0 {
			start = i
		}
		if start >= 0 && !(class == classCJK && unicode.Is(unicode.M, r)) {
			class = c
		}
	}
	if start >= 0 {
		emit(len(text))
	}
}

// cjkPairs calls f with each pair of neighbouring characters of run (a
// character keeps the marks that follow it), or with run when it is one.
func cjkPairs(run string, f func(string)) {
	var starts []int
	for i, r := range run {
		if !unicode.Is(unicode.M, r) {
			starts = append(starts, i)
		}
	}
	if len(starts) < 2 {
		f(run)
		return
	}
	starts = append(starts, len(run))
	for k := 0; k+2 < len(starts); k++ {
		f(run[starts[k]:starts[k+2]])
	}
}

// runeClass is the class of r; a combining mark stays with its letter.
func runeClass(r rune) int {
	switch {
	case r < utf8.RuneSelf:
		switch {
		case 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z':
			return classLetter
		case '0' <= r && r <= '9':
			return classDigit
		}
		return classNone
	case CJK(r):
		return classCJK
	case unicode.IsLetter(r) || unicode.Is(unicode.M, r):
		return classLetter
	case unicode.IsDigit(r):
		return classDigit
	}
	return classNone
}

// CJK reports a character of the scripts written without spaces between
// words, which the analyzer cuts into pairs.
func CJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) || r == 'ー' || r == '々'
}

// Fold is w lower-cased and without its accents (marks kept only where
// they spell: spellingMarks), as the analyzer folds a word before stemming it.
func Fold(w string) string { return string(foldWord(nil, w)) }

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
	start, kept := len(buf), false
	var base rune
	for _, r := range norm.NFD.String(w) {
		if unicode.Is(unicode.Mn, r) {
			if !unicode.In(base, spellingMarks...) {
				continue // an accent, or a vowel point that text mostly leaves out (Arabic, Hebrew)
			}
			kept = true // it spells: kana's voicing marks, the vowel signs of Indic and Southeast Asian scripts
		} else {
			base = r
		}
		r = unicode.ToLower(r)
		if s, ok := foldings[r]; ok {
			buf = append(buf, s...)
			continue
		}
		buf = utf8.AppendRune(buf, r)
	}
	if kept { // composed again, as such text is written: デ, not テ and its mark
		folded := norm.NFC.Bytes(buf[start:])
		buf = append(buf[:start], folded...)
	}
	return buf
}

// spellingMarks are the scripts whose combining marks are part of a word's
// spelling, kept by the analyzer; other scripts' marks are folded away.
var spellingMarks = []*unicode.RangeTable{unicode.Hiragana, unicode.Katakana, unicode.Devanagari, unicode.Bengali,
	unicode.Gurmukhi, unicode.Gujarati, unicode.Oriya, unicode.Tamil, unicode.Telugu, unicode.Kannada, unicode.Malayalam,
	unicode.Sinhala, unicode.Thai, unicode.Lao, unicode.Tibetan, unicode.Myanmar, unicode.Khmer}

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
