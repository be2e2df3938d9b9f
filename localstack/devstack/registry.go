package devstack

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/portfolio"
	"github.com/stratumiops/stratumiops/shared/vapora/llm"
	"github.com/stratumiops/stratumiops/shared/vapora/llm/runner"
	"github.com/stratumiops/stratumiops/shared/vapora/vaporafn"
	"github.com/stratumiops/stratumiops/shared/vault/backup"
	"github.com/stratumiops/stratumiops/shared/vault/cryptofn"
	"github.com/stratumiops/stratumiops/shared/vault/database"
	"github.com/stratumiops/stratumiops/shared/vault/secretsfn"
	"github.com/stratumiops/stratumiops/shared/vault/sysfn"
)

// Set is a function set with the system it belongs to and the name of the
// package that exports it (functions/<name>/main.go calls <Package>.Functions).
type Set struct {
	System  string
	Package string
	Set     function.Set
}

// Sets lists every function set. A system may split its functions over
// several packages so that each Lambda links only what it runs.
var Sets = []Set{
	{System: "portfolio", Package: "portfolio", Set: portfolio.Functions},
	{System: "vault", Package: "sysfn", Set: sysfn.Functions},
	{System: "vault", Package: "secretsfn", Set: secretsfn.Functions},
	{System: "vault", Package: "cryptofn", Set: cryptofn.Functions},
	{System: "vault", Package: "database", Set: database.Functions},
	{System: "vault", Package: "backup", Set: backup.Functions},
	{System: "vapora", Package: "vaporafn", Set: vaporafn.Functions},
	{System: "vapora", Package: "llm", Set: llm.Functions},
	{System: "vapora", Package: "runner", Set: runner.Functions},
	{System: "kogral", Package: "kogral", Set: kogral.Functions},
}

// Builders merges the systems' sets and checks them against the catalog: every
// catalog function has a builder of its kind in its own system's set, and no
// set builds a function the catalog does not list.
func Builders() (map[string]function.Builder, error) {
	out := map[string]function.Builder{}
	var problems []string
	for _, set := range Sets {
		system := set.System
		for name, b := range set.Set {
			f, ok := catalog.Lookup(name)
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s builds %q, which is not in the catalog", system, name))
			case f.System != system:
				problems = append(problems, fmt.Sprintf("%q is built by %s but belongs to %s", name, system, f.System))
			case b.Kind() != f.Kind:
				problems = append(problems, fmt.Sprintf("%q: catalog kind %s, builder kind %s", name, f.Kind, b.Kind()))
			}
			if _, dup := out[name]; dup {
				problems = append(problems, fmt.Sprintf("%q is built by two sets", name))
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
