package form

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"gopkg.in/yaml.v3"
)

var sample = map[string]any{
	"name": "Ada \"the\" Countess\\ %{evil} 100%", "team_size": int64(5), "ratio": 0.25, "ok": true,
	"skills": []any{"go", "rust"}, "if": "keyword key", "with space": "tab\there\nnew\x01line",
	"projects": []any{map[string]any{"project_name": "engine", "in": "x"}, map[string]any{}},
}

func TestOutputsRoundTrip(t *testing.T) {
	for _, format := range []string{FormatJSON, FormatYAML, FormatTOML, FormatNickel} {
		out, err := Render(format, sample)
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		var back map[string]any
		switch format {
		case FormatJSON:
			err = json.Unmarshal(out, &back)
		case FormatYAML:
			err = yaml.Unmarshal(out, &back)
		case FormatTOML:
			err = toml.Unmarshal(out, &back)
		case FormatNickel:
			back, err = parseNickelRecord(string(out))
		}
		if err != nil {
			t.Fatalf("%s does not parse: %v\n%s", format, err, out)
		}
		if fmt.Sprint(normal(back)) != fmt.Sprint(normal(sample)) {
			t.Fatalf("%s round trip:\n got %v\nwant %v\n%s", format, normal(back), normal(sample), out)
		}
	}
	if _, err := Render("xml", sample); err == nil {
		t.Fatal("xml accepted")
	}
}

// normal turns every number into float64 so formats compare equal.
func normal(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			m[k] = normal(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normal(e)
		}
		return out
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normal(e)
		}
		return out
	}
	if n, ok := number(v); ok {
		return n
	}
	return v
}

// parseNickelRecord is a strict parser of the Nickel subset the nickel
// output uses (records, arrays, strings with escapes, numbers, booleans,
// null); it rejects a raw %{ in a string and bare keywords as field names.
func parseNickelRecord(s string) (map[string]any, error) {
	p := &nickelParser{s: s}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("trailing input at %d", p.i)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a record")
	}
	return m, nil
}

type nickelParser struct {
	s string
	i int
}

func (p *nickelParser) space() {
	for p.i < len(p.s) && strings.ContainsRune(" \t\n", rune(p.s[p.i])) {
		p.i++
	}
}

func (p *nickelParser) expect(c byte) error {
	p.space()
	if p.i >= len(p.s) || p.s[p.i] != c {
		return fmt.Errorf("want %q at %d", c, p.i)
	}
	p.i++
	return nil
}

func (p *nickelParser) value() (any, error) {
	p.space()
	if p.i >= len(p.s) {
		return nil, errors.New("unexpected end")
	}
	switch c := p.s[p.i]; {
	case c == '{':
		return p.record()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	}
	j := p.i
	for j < len(p.s) && strings.ContainsRune("abcdefghijklmnopqrstuvwxyz0123456789.-+eE", rune(p.s[j])) {
		j++
	}
	word := p.s[p.i:j]
	p.i = j
	switch word {
	case "true":
		return true, nil
	case "false":
		return false, nil
	case "null":
		return nil, nil
	}
	n, err := strconv.ParseFloat(word, 64)
	if err != nil {
		return nil, fmt.Errorf("bad literal %q", word)
	}
	return n, nil
}

func (p *nickelParser) record() (any, error) {
	m := map[string]any{}
	p.i++
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return m, nil
		}
		key, err := p.key()
		if err != nil {
			return nil, err
		}
		if err := p.expect('='); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m[key] = v
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
		} else if err := p.expect('}'); err != nil {
			return nil, err
		} else {
			return m, nil
		}
	}
}

func (p *nickelParser) key() (string, error) {
	if p.s[p.i] == '"' {
		v, err := p.str()
		return fmt.Sprint(v), err
	}
	j := p.i
	for j < len(p.s) && (nickelIdent.MatchString(p.s[p.i:j+1]) || p.s[j] == '_') {
		j++
	}
	key := p.s[p.i:j]
	if !nickelIdent.MatchString(key) || nickelKeywords[key] {
		return "", fmt.Errorf("bad field name %q at %d", key, p.i)
	}
	p.i = j
	return key, nil
}

func (p *nickelParser) array() (any, error) {
	out := []any{}
	p.i++
	for {
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return out, nil
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		p.space()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
		}
	}
}

func (p *nickelParser) str() (any, error) {
	var b strings.Builder
	p.i++
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '%' && p.i+1 < len(p.s) && p.s[p.i+1] == '{':
			return nil, fmt.Errorf("unescaped interpolation at %d", p.i)
		case c == '\n' || c < 0x20:
			return nil, fmt.Errorf("raw control character in string at %d", p.i)
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return nil, errors.New("dangling escape")
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '"', '\\', '%':
				b.WriteByte(e)
			case 'x':
				n, err := strconv.ParseUint(p.s[p.i:p.i+2], 16, 8)
				if err != nil {
					return nil, err
				}
				b.WriteByte(byte(n))
				p.i += 2
			default:
				return nil, fmt.Errorf("unknown escape \\%c", e)
			}
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return nil, errors.New("unterminated string")
}

func TestNickelParserRejectsBadSyntax(t *testing.T) {
	for _, bad := range []string{`{ a = "%{x}" }`, `{ if = 1 }`, `{ a = "x }`, `{ a = "\q" }`} {
		if _, err := parseNickelRecord(bad); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
	if !reflect.DeepEqual(must(parseNickelRecord(`{ "if" = "\%{", b = [1, true] }`)), map[string]any{"if": "%{", "b": []any{1.0, true}}) {
		t.Fatal("good record misparsed")
	}
}

func must(m map[string]any, err error) map[string]any {
	if err != nil {
		panic(err)
	}
	return m
}
