package devstack

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/portfolio"
	"github.com/stratumiops/stratumiops/shared/vault"
)

// Systems maps each system to the function set its package exports; the
// functions/<name>/main.go files use the same sets.
var Systems = map[string]function.Set{
	"portfolio": portfolio.Functions,
	"vault":     vault.Functions,
}

// Builders merges the systems' sets and checks them against the catalog: every
// catalog function has a builder of its kind in its own system's set, and no
// set builds a function the catalog does not list.
func Builders() (map[string]function.Builder, error) {
	out := map[string]function.Builder{}
	var problems []string
	for system, set := range Systems {
		for name, b := range set {
			f, ok := catalog.Lookup(name)
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s builds %q, which is not in the catalog", system, name))
			case f.System != system:
				problems = append(problems, fmt.Sprintf("%q is built by %s but belongs to %s", name, system, f.System))
			case b.Kind() != f.Kind:
				problems = append(problems, fmt.Sprintf("%q: catalog kind %s, builder kind %s", name, f.Kind, b.Kind()))
			}
			out[name] = b
		}
	}
	for _, f := range catalog.Functions {
		if _, ok := out[f.Name]; !ok {
			problems = append(problems, fmt.Sprintf("catalog function %q has no builder", f.Name))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("function registry: %s", strings.Join(problems, "; "))
	}
	return out, nil
}
