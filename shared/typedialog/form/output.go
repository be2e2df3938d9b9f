package form

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"gopkg.in/yaml.v3"
)

// Render writes validated values in one output format (json when empty).
func Render(format string, values map[string]any) ([]byte, error) {
	switch format {
	case "", FormatJSON:
		b, err := json.MarshalIndent(values, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("render json: %w", err)
		}
		return append(b, '\n'), nil
	case FormatYAML:
		b, err := yaml.Marshal(values)
		if err != nil {
			return nil, fmt.Errorf("render yaml: %w", err)
		}
		return b, nil
	case FormatTOML:
		b, err := toml.Marshal(values)
		if err != nil {
			return nil, fmt.Errorf("render toml: %w", err)
		}
		return b, nil
	case FormatNickel:
		var buf bytes.Buffer
		writeNickel(&buf, values, 0)
		buf.WriteByte('\n')
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("unknown output format %q (json, yaml, toml or nickel)", format)
}

// ContentType is the media type of an output format.
func ContentType(format string) string {
	switch format {
	case FormatYAML:
		return "application/yaml"
	case FormatTOML:
		return "application/toml"
	case FormatNickel:
		return "text/x-nickel"
	}
	return "application/json"
}

var nickelIdent = regexp.MustCompile(`^_*[a-zA-Z][_a-zA-Z0-9'-]*$`)

// nickelKeywords cannot be bare record field names.
var nickelKeywords = map[string]bool{"if": true, "then": true, "else": true, "let": true, "in": true, "fun": true,
	"match": true, "null": true, "true": true, "false": true, "forall": true, "import": true, "rec": true,
	"default": true, "doc": true, "optional": true, "priority": true, "force": true, "not_exported": true,
	"Number": true, "String": true, "Bool": true, "Array": true, "Dyn": true, "include": true,
	"merge": true, "or": true, "as": true}

func writeNickel(buf *bytes.Buffer, v any, depth int) {
	indent := strings.Repeat("  ", depth+1)
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) == 0 {
			buf.WriteString("{}")
			return
		}
		buf.WriteString("{\n")
		for _, k := range keys {
			buf.WriteString(indent + nickelKey(k) + " = ")
			writeNickel(buf, x[k], depth+1)
			buf.WriteString(",\n")
		}
		buf.WriteString(strings.Repeat("  ", depth) + "}")
	case []any:
		buf.WriteString("[")
		for i, e := range x {
			if i > 0 {
				buf.WriteString(", ")
			}
			writeNickel(buf, e, depth)
		}
		buf.WriteString("]")
	case string:
		buf.WriteString(nickelString(x))
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	case nil:
		buf.WriteString("null")
	default:
		if n, ok := number(x); ok {
			buf.WriteString(nickelNumber(n))
			return
		}
		buf.WriteString(nickelString(fmt.Sprint(x)))
	}
}

func nickelKey(k string) string {
	if nickelIdent.MatchString(k) && !nickelKeywords[k] {
		return k
	}
	return nickelString(k)
}

func nickelNumber(n float64) string {
	if n == math.Trunc(n) && math.Abs(n) < 1e15 {
		return strconv.FormatInt(int64(n), 10)
	}
	return strconv.FormatFloat(n, 'g', -1, 64)
}

// nickelString quotes s as a Nickel string: backslash, quote, control
// characters and the interpolation opener %{ are escaped.
func nickelString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '%' && i+1 < len(s) && s[i+1] == '{':
			b.WriteString(`\%`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
