package i18n

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// pattern is text with placeables.
type pattern []element

// element is literal text, a variable, or a select expression.
type element struct {
	text     string
	variable string
	sel      *selectExpr
}

type selectExpr struct {
	variable string
	variants []variant
	def      int
}

type variant struct {
	key   string
	value pattern
}

func parsePattern(s string) (pattern, error) {
	var out pattern
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			out = append(out, element{text: s})
			break
		}
		if i > 0 {
			out = append(out, element{text: s[:i]})
		}
		end := closing(s, i)
		if end < 0 {
			return nil, errors.New("a { has no closing }")
		}
		el, err := placeable(strings.TrimSpace(s[i+1 : end]))
		if err != nil {
			return nil, err
		}
		out = append(out, el)
		s = s[end+1:]
	}
	return out, nil
}

// closing finds the } matching the { at i; braces inside string literals
// ("{") do not count.
func closing(s string, i int) int {
	depth, quoted := 0, false
	for j := i; j < len(s); j++ {
		switch {
		case quoted && s[j] == '\\':
			j++
			continue
		case s[j] == '"' && depth > 0:
			quoted = !quoted
			continue
		case quoted:
			continue
		}
		switch s[j] {
		case '{':
			depth++
		case '}':
			if depth--; depth == 0 {
				return j
			}
		}
	}
	return -1
}

func placeable(body string) (element, error) {
	if v, rest, ok := strings.Cut(body, "->"); ok {
		return selection(strings.TrimSpace(v), rest)
	}
	switch {
	case strings.HasPrefix(body, "$"):
		return element{variable: body[1:]}, nil
	case strings.HasPrefix(body, `"`):
		s, err := strconv.Unquote(body)
		if err != nil {
			return element{}, fmt.Errorf("bad string literal %s", body)
		}
		return element{text: s}, nil
	}
	return element{}, fmt.Errorf("unsupported placeable { %s } (variables, string literals and selects are)", body)
}

// selection parses `$var -> [key] text … *[other] text`, one variant a line.
func selection(v, body string) (element, error) {
	if !strings.HasPrefix(v, "$") {
		return element{}, fmt.Errorf("a select needs a variable, got %q", v)
	}
	sel := &selectExpr{variable: v[1:], def: -1}
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		isDefault := strings.HasPrefix(line, "*")
		line = strings.TrimPrefix(line, "*")
		key, text, ok := strings.Cut(strings.TrimPrefix(line, "["), "]")
		if !strings.HasPrefix(line, "[") || !ok {
			return element{}, fmt.Errorf("a variant must read [key] text, got %q", line)
		}
		p, err := parsePattern(strings.TrimSpace(text))
		if err != nil {
			return element{}, err
		}
		if isDefault {
			sel.def = len(sel.variants)
		}
		sel.variants = append(sel.variants, variant{key: strings.TrimSpace(key), value: p})
	}
	if sel.def < 0 {
		return element{}, errors.New("a select needs a default variant *[key]")
	}
	return element{sel: sel}, nil
}

// format renders a pattern with its arguments; a missing variable renders
// as its name in braces, as Fluent does.
func (p pattern) format(lang string, args map[string]any) string {
	var b strings.Builder
	for _, el := range p {
		switch {
		case el.sel != nil:
			b.WriteString(el.sel.pick(lang, args[el.sel.variable]).format(lang, args))
		case el.variable != "":
			if v, ok := args[el.variable]; ok {
				b.WriteString(fmt.Sprint(v))
			} else {
				b.WriteString("{$" + el.variable + "}")
			}
		default:
			b.WriteString(el.text)
		}
	}
	return b.String()
}

// pick chooses the variant whose key is the value itself, else the value's
// plural category, else the default.
func (s *selectExpr) pick(lang string, v any) pattern {
	key := fmt.Sprint(v)
	cat := ""
	if n, err := strconv.ParseFloat(key, 64); err == nil {
		cat = pluralCategory(lang, n)
	}
	for _, vr := range s.variants {
		if vr.key == key {
			return vr.value
		}
	}
	for _, vr := range s.variants {
		if vr.key == cat {
			return vr.value
		}
	}
	return s.variants[s.def].value
}

// pluralCategory is CLDR's cardinal category for the languages whose rule
// is "one" for 1 (English, Spanish, German, Italian, Portuguese (pt-PT)…) or
// for 0 and 1 (French, Brazilian Portuguese); others get "other".
func pluralCategory(lang string, n float64) string {
	base, _, _ := strings.Cut(strings.ToLower(lang), "-")
	switch {
	case (base == "fr" || lang == "pt-BR") && n >= 0 && n < 2 && n == float64(int(n)):
		return "one"
	case n == 1:
		return "one"
	}
	return "other"
}
