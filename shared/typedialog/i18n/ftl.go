// Package i18n gives TypeDialog's forms their labels, help and messages in
// the person's language from Fluent (.ftl) files, as the seed specifies. It
// reads the subset of Fluent forms need: messages with attributes, multiline
// text, variables ({ $n }), string literals and select expressions on a
// variable with plural categories or exact numbers. No Fluent module is
// served here, and go-i18n (served) renders through text/template, whose
// method lookups by name would push the typedialog-forms Lambda from 14.9 to
// 19.3 MB; this reader adds a few kilobytes.
package i18n

import (
	"fmt"
	"regexp"
	"strings"
)

// ParseError is a line of an .ftl file the reader does not understand.
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// message is one Fluent message: its value and its attributes.
type message struct {
	value pattern
	attrs map[string]pattern
}

// rawText is a message's value or one attribute, as lines, before parsing.
type rawText struct {
	id, attr string
	line     int
	lines    []string
}

var (
	entryLine = regexp.MustCompile(`^(-?[a-zA-Z][a-zA-Z0-9_-]*)\s*=\s?(.*)$`)
	attrLine  = regexp.MustCompile(`^\.([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s?(.*)$`)
)

// Parse reads one .ftl file into messages by id.
func Parse(file string, src []byte) (map[string]*message, error) {
	raws, err := scan(file, src)
	if err != nil {
		return nil, err
	}
	out := map[string]*message{}
	for _, r := range raws {
		p, err := parsePattern(strings.TrimRight(strings.Join(r.lines, "\n"), "\n"))
		if err != nil {
			return nil, &ParseError{file, r.line, err.Error()}
		}
		m := out[r.id]
		if m == nil {
			m = &message{attrs: map[string]pattern{}}
			out[r.id] = m
		}
		if r.attr == "" {
			m.value = p
		} else {
			m.attrs[r.attr] = p
		}
	}
	return out, nil
}

// scan splits a file into message values and attributes: an entry starts at
// column 0, indented lines continue it or start one of its attributes.
func scan(file string, src []byte) ([]*rawText, error) {
	var out []*rawText
	var cur *rawText
	id := ""
	for n, line := range strings.Split(strings.ReplaceAll(string(src), "\r\n", "\n"), "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			if cur != nil {
				cur.lines = append(cur.lines, "")
			}
		case line[0] == '#':
			cur, id = nil, ""
		case line[0] != ' ' && line[0] != '\t':
			m := entryLine.FindStringSubmatch(line)
			if m == nil {
				return nil, &ParseError{file, n + 1, fmt.Sprintf("expected `id = text`, got %q", line)}
			}
			id = m[1]
			cur = &rawText{id: id, line: n + 1, lines: []string{m[2]}}
			out = append(out, cur)
		case id == "":
			return nil, &ParseError{file, n + 1, "indented line outside a message"}
		case attrLine.MatchString(trimmed):
			m := attrLine.FindStringSubmatch(trimmed)
			cur = &rawText{id: id, attr: m[1], line: n + 1, lines: []string{m[2]}}
			out = append(out, cur)
		default:
			cur.lines = append(cur.lines, trimmed)
		}
	}
	for _, r := range out { // a value that is only whitespace lines
		for len(r.lines) > 0 && r.lines[0] == "" {
			r.lines = r.lines[1:]
		}
	}
	return out, nil
}
