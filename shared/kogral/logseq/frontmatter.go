package logseq

import (
	"regexp"
	"strings"
)

// Frontmatter reads a page's leading YAML block (the lines between its ---
// lines) into page properties, each value as text; keyed is whether the
// mapping has a key (read or not: a page with some keeps its first block of
// properties a block); ok is false when the block is not a YAML mapping,
// and the page reads those lines as text, as Logseq does. Package files
// reads the block with a YAML library (the importer, in the CLI); the
// store, which only needs where a page's outline starts, skims it with
// SkimFrontmatter and links no YAML library.
type Frontmatter func(block []string) (props map[string]string, keyed, ok bool)

// SkimFrontmatter reads no properties; keyed and ok are as a YAML library
// would say (frontmatter_test.go compares them with yaml.v3). A block it
// cannot tell without a YAML parser (nested values, anchors, tags,
// multi-line scalars…) counts as a mapping with keys when it has a line
// that is not a comment.
func SkimFrontmatter(block []string) (map[string]string, bool, bool) {
	keys, ok, sure := isYAMLMapping(block)
	if !sure {
		keys = 0
		for _, l := range block {
			if t := strings.TrimSpace(l); t != "" && t[0] != '#' {
				keys++
			}
		}
	}
	return nil, keys > 0, ok
}

var (
	skimKey    = regexp.MustCompile(`^([A-Za-z_][\w.-]*(?: [\w.-]+)*):(?:[ ]+(.*)|)$`)
	skimText   = regexp.MustCompile(`^[A-Za-z0-9_][^:#]*$`)
	skimPlain  = regexp.MustCompile(`^\w[\w.-]*(?: [\w.-]+)*$`)
	skimEscape = regexp.MustCompile(`\\(?:[\\"/0abefnrtvN_LP ]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8})`)
)

// isYAMLMapping is whether block is a YAML mapping (or empty or null), how
// many keys it has, and whether that is sure: it reads a block of "key:
// value" lines whose values are plain, quoted on their line, or flow lists
// of such on their line, and knows a few sure errors (a first line that is
// text or a list, a repeated key, a plain value holding ": ", an unclosed
// flow list…).
func isYAMLMapping(block []string) (keys int, ok, sure bool) {
	seen := map[string]bool{}
	var lines []int
	for i, line := range block {
		if !printable(line) {
			return 0, true, false // a character YAML may refuse, even in a comment
		}
		if t := strings.TrimLeft(line, " "); t != "" && t[0] != '#' {
			lines = append(lines, i)
		}
	}
	if len(lines) == 1 {
		switch block[lines[0]] {
		case "~", "null", "Null", "NULL", "{}":
			return 0, true, true // null, or an empty mapping
		}
	}
	for n, i := range lines {
		line := block[i]
		if line[0] == ' ' || len(line) > 1000 {
			return 0, true, false // indentation (a nested value or a continued scalar), a long key
		}
		if n == 0 && (line == "-" || strings.HasPrefix(line, "- ")) {
			return 0, false, true // a list, not a mapping
		}
		if skimText.MatchString(line) {
			return 0, false, true // text where a key is due
		}
		m := skimKey.FindStringSubmatch(line)
		if m == nil || yamlWord(m[1]) {
			return 0, true, false
		}
		if seen[m[1]] {
			return 0, false, true // yaml.v3 refuses a repeated key
		}
		seen[m[1]] = true
		if ok, sure := skimValue(m[2], block[i+1:]); !ok || !sure {
			return 0, ok, sure
		}
	}
	return len(seen), true, true
}

// printable is whether YAML reads every character of line as text: no
// tab, control, line or paragraph separator, byte order mark or invalid
// UTF-8.
func printable(line string) bool {
	for _, r := range line {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) || r == 0x2028 || r == 0x2029 || r == 0xfeff || r >= 0xfffd && r <= 0xffff {
			return false
		}
	}
	return true
}

// yamlWord is a key YAML reads as a bool or null, not a string.
func yamlWord(k string) bool {
	switch strings.ToLower(k) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		return true
	}
	return false
}

// skimValue is whether a value on a key's line is YAML, and whether that
// is sure; rest are the block's lines after it.
func skimValue(v string, rest []string) (ok, sure bool) {
	v = strings.TrimRight(v, " ")
	if v == "" || v[0] == '#' {
		return true, true
	}
	switch v[0] {
	case '@', '`':
		return false, true // reserved: no value starts with them
	case '[', '{':
		closer := map[byte]string{'[': "]", '{': "}"}[v[0]]
		if !strings.Contains(v, closer) && !strings.Contains(strings.Join(rest, "\n"), closer) {
			return false, true // a flow collection never closed
		}
		if v[0] == '[' && strings.HasSuffix(v, "]") {
			return skimFlowList(v[1 : len(v)-1])
		}
		return true, false
	case '"', '\'':
		q, after, closed := quoted(v)
		if !closed || !skimQuoted(v[0], q) {
			return true, false
		}
		return afterValue(after)
	}
	if strings.ContainsAny(v[:1], "-?:,]}&*!|>%") {
		return true, false
	}
	if i := strings.Index(v, " #"); i >= 0 {
		v = strings.TrimRight(v[:i], " ")
	}
	if strings.Contains(v, ": ") || strings.HasSuffix(v, ":") {
		return false, true // a mapping inside a plain value
	}
	return true, true
}

// skimFlowList is whether the inside of a one-line [list] of plain or
// quoted words is YAML (sure only when it is).
func skimFlowList(in string) (ok, sure bool) {
	if strings.TrimSpace(in) == "" {
		return true, true
	}
	for _, item := range strings.Split(in, ",") {
		item = strings.TrimSpace(item)
		if item == "" || (!skimPlain.MatchString(item) && !simpleQuoted(item)) {
			return true, false
		}
	}
	return true, true
}

// simpleQuoted is a whole item "…" or '…' with no quote, comma or escape
// inside.
func simpleQuoted(s string) bool {
	return len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] &&
		!strings.ContainsAny(s[1:len(s)-1], `"'\,`)
}

// quoted splits a value starting with a quote into the quoted text and
// what follows its closing quote; closed is false when the line does not
// close it.
func quoted(v string) (inside, after string, closed bool) {
	q := v[0]
	for i := 1; i < len(v); i++ {
		switch {
		case q == '"' && v[i] == '\\':
			i++
		case v[i] == q && q == '\'' && i+1 < len(v) && v[i+1] == '\'':
			i++
		case v[i] == q:
			return v[1:i], v[i+1:], true
		}
	}
	return "", "", false
}

// skimQuoted is whether the inside of a quoted value is one YAML surely
// reads: printable ASCII and, double-quoted, the usual escapes.
func skimQuoted(q byte, s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return q == '\'' || !strings.Contains(skimEscape.ReplaceAllString(s, ""), `\`)
}

// afterValue is whether what follows a closed quoted value leaves it a
// value: nothing, or a comment.
func afterValue(after string) (ok, sure bool) {
	t := strings.TrimLeft(after, " ")
	if t == "" || (t[0] == '#' && len(t) < len(after)) {
		return true, true
	}
	return true, false
}
