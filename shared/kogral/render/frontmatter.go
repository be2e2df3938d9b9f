package render

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The frontmatter is written without a YAML library, so that the functions
// that export (kogral-api, kogral-mcp) link none: block mappings and
// sequences indented by two, as yaml.v3 writes them; a string plain when it
// can only read back as itself, else double-quoted with JSON's escapes
// (which YAML's double-quoted style reads alike) and every character YAML
// does not print escaped; a string that is not UTF-8 as !!binary, as yaml.v3
// writes it. Any YAML reader reads the header back as the values written
// (frontmatter_test.go checks it against yaml.v3).

// field is one key of a mapping written in its order (a struct's fields).
type field struct {
	key string
	val any
}

// ordered is a mapping written in the order of its fields.
type ordered []field

// writeFrontMatter writes h as YAML, its fields in FrontMatter's order,
// those yaml.v3 would omit (omitempty) left out.
func writeFrontMatter(buf *bytes.Buffer, h FrontMatter) {
	m := ordered{{"id", h.ID}, {"type", h.Type}, {"title", h.Title}}
	add := func(k string, v any, keep bool) {
		if keep {
			m = append(m, field{k, v})
		}
	}
	add("tags", h.Tags, len(h.Tags) > 0)
	add("graph", h.Graph, h.Graph != "")
	add("created", h.Created, h.Created != nil)
	add("updated", h.Updated, h.Updated != nil)
	add("metadata", h.Metadata, len(h.Metadata) > 0)
	links := make([]any, len(h.Links))
	for i, l := range h.Links {
		f := ordered{{"relation", l.Relation}, {"target", l.Target}}
		if l.Weight != 0 {
			f = append(f, field{"weight", l.Weight})
		}
		links[i] = f
	}
	add("links", links, len(links) > 0)
	alts := make([]any, len(h.Alternatives))
	for i, a := range h.Alternatives {
		f := ordered{{"title", a.Title}}
		if len(a.Pros) > 0 {
			f = append(f, field{"pros", a.Pros})
		}
		if len(a.Cons) > 0 {
			f = append(f, field{"cons", a.Cons})
		}
		if a.WhyNotChosen != "" {
			f = append(f, field{"why_not_chosen", a.WhyNotChosen})
		}
		alts[i] = f
	}
	add("alternatives", alts, len(alts) > 0)
	add("related_decisions", h.RelatedDecisions, len(h.RelatedDecisions) > 0)
	w := yamlWriter{buf}
	w.mapping(0, m, false)
}

type yamlWriter struct{ *bytes.Buffer }

// mapping writes m's keys at column ind; the first at the cursor when
// inline (after a sequence's "- ").
func (w yamlWriter) mapping(ind int, m ordered, inline bool) {
	for i, f := range m {
		if i > 0 || !inline {
			w.WriteString(strings.Repeat(" ", ind))
		}
		k := yamlString(f.key)
		if len(k) > 1000 { // an implicit key is at most 1024 characters: say it is a key
			w.WriteString("? " + k + "\n" + strings.Repeat(" ", ind) + ":")
		} else {
			w.WriteString(k + ":")
		}
		w.value(ind, plainValue(f.val))
	}
}

// value writes v after a "key:" or "-" at column ind: a scalar or an empty
// collection on the same line, a block on the lines below.
func (w yamlWriter) value(ind int, v any) {
	switch x := v.(type) {
	case ordered:
		if len(x) > 0 {
			w.WriteString("\n")
			w.mapping(ind+2, x, false)
			return
		}
		w.WriteString(" {}\n")
	case []any:
		if len(x) > 0 {
			w.WriteString("\n")
			w.sequence(ind+2, x)
			return
		}
		w.WriteString(" []\n")
	default:
		w.WriteString(" " + yamlScalar(x) + "\n")
	}
}

// sequence writes xs at column ind, a mapping item's first key beside its "-".
func (w yamlWriter) sequence(ind int, xs []any) {
	for _, x := range xs {
		w.WriteString(strings.Repeat(" ", ind) + "-")
		if m, ok := plainValue(x).(ordered); ok && len(m) > 0 {
			w.WriteString(" ")
			w.mapping(ind+2, m, true)
			continue
		}
		w.value(ind, plainValue(x))
	}
}

// plainValue is v as the writer's values: ordered mappings (a map's keys
// sorted), []any, and scalars; a value of another type as its JSON reads.
func plainValue(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, time.Time, ordered, []any:
		return x
	case *time.Time:
		if x == nil {
			return nil
		}
		return *x
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make(ordered, len(keys))
		for i, k := range keys {
			out[i] = field{k, x[k]}
		}
		return out
	}
	raw, err := json.Marshal(v)
	var back any
	if err != nil || json.Unmarshal(raw, &back) != nil {
		return fmt.Sprint(v)
	}
	return plainValue(back)
}

// yamlScalar writes a scalar as yaml.v3 does.
func yamlScalar(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return yamlString(x)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case float32:
		return yamlFloat(strconv.FormatFloat(float64(x), 'g', -1, 32))
	case float64:
		return yamlFloat(strconv.FormatFloat(x, 'g', -1, 64))
	}
	return fmt.Sprint(v) // the integers
}

func yamlFloat(s string) string {
	switch s {
	case "+Inf":
		return ".inf"
	case "-Inf":
		return "-.inf"
	case "NaN":
		return ".nan"
	}
	return s
}

// yamlString is s plain when that reads back as s (it starts with a letter,
// holds letters, digits, marks, spaces and a few signs, ends with none, and
// is no word YAML reads as a bool or null), else quoted.
func yamlString(s string) string {
	if !utf8.ValidString(s) {
		return "!!binary " + base64.StdEncoding.EncodeToString([]byte(s))
	}
	if plainSafe(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 || r == 0xfeff || r == 0xfffe || r == 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func plainSafe(s string) bool {
	if s == "" || s[len(s)-1] == ' ' {
		return false
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		return false
	}
	for i, r := range s {
		switch {
		case unicode.IsLetter(r):
		case i == 0:
			return false
		case unicode.IsDigit(r) || unicode.IsMark(r) || strings.ContainsRune(" -_./()+;?!=", r):
		default:
			return false
		}
	}
	return true
}
