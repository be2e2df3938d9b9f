package files

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlFrontmatter reads a Logseq page's YAML frontmatter (logseq.Frontmatter)
// with yaml.v3: each key's value as text, a list's items joined by ", ".
// The store skims it instead (logseq.SkimFrontmatter), so that the
// functions link no YAML library.
func yamlFrontmatter(block []string) (map[string]string, bool, bool) {
	var m map[string]any
	if yaml.Unmarshal([]byte(strings.Join(block, "\n")), &m) != nil {
		return nil, false, false
	}
	props := make(map[string]string, len(m))
	for k, v := range m {
		props[k] = yamlValue(v)
	}
	return props, len(m) > 0, true
}

func yamlValue(v any) string {
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return strings.Join(parts, ", ")
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
