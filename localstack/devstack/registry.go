package devstack

import (
	"fmt"
	"sort"
	"strings"

	"github.com/stratumiops/stratumiops/shared/kogral/apifn"
	"github.com/stratumiops/stratumiops/shared/kogral/execution"
	"github.com/stratumiops/stratumiops/shared/kogral/exportjob"
	"github.com/stratumiops/stratumiops/shared/kogral/mcpserver"
	"github.com/stratumiops/stratumiops/shared/platform/apidoc"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/portfolio"
	"github.com/stratumiops/stratumiops/shared/provisioning/provfn"
	"github.com/stratumiops/stratumiops/shared/typedialog"
	"github.com/stratumiops/stratumiops/shared/typedialog/contractfn"
	"github.com/stratumiops/stratumiops/shared/typedialog/renderfn"
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
// package that exports it (functions/<name>/main.go calls function.Main with
// the constructor the set holds for <name>).
type Set struct {
	System  string
	Package string
	Set     function.Set
}

// Sets lists every function set. A system may split its functions over
// several packages so that each Lambda links only what it runs.
var Sets = []Set{
	{System: "portfolio", Package: "portfolio", Set: portfolio.Functions()},
	{System: "vault", Package: "sysfn", Set: sysfn.Functions()},
	{System: "vault", Package: "secretsfn", Set: secretsfn.Functions()},
	{System: "vault", Package: "cryptofn", Set: cryptofn.Functions()},
	{System: "vault", Package: "database", Set: database.Functions()},
	{System: "vault", Package: "backup", Set: backup.Functions()},
	{System: "vapora", Package: "vaporafn", Set: vaporafn.Functions()},
	{System: "vapora", Package: "llm", Set: llm.Functions()},
	{System: "vapora", Package: "runner", Set: runner.Functions()},
	{System: "kogral", Package: "apifn", Set: apifn.Functions()},
	{System: "kogral", Package: "mcpserver", Set: mcpserver.Functions()},
	{System: "kogral", Package: "execution", Set: execution.Functions()},
	{System: "kogral", Package: "exportjob", Set: exportjob.Functions()},
	{System: "typedialog", Package: "typedialog", Set: typedialog.Functions()},
	{System: "typedialog", Package: "renderfn", Set: renderfn.Functions()},
	{System: "typedialog", Package: "contractfn", Set: contractfn.Functions()},
	{System: "provisioning", Package: "provfn", Set: provfn.Functions()},
}

// Builders merges the systems' sets and checks them against the catalog: every
// catalog function has a builder of its kind in its own system's set, and no
// set builds a function the catalog does not list.
func Builders() (map[string]function.Builder, error) {
	out := map[string]function.Builder{}
	var problems []string
	for _, set := range Sets {
		system := set.System
		for name, ctor := range set.Set {
			b := ctor()
			f, ok := catalog.Lookup(name)
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("%s builds %q, which is not in the catalog", system, name))
			case f.System != system:
				problems = append(problems, fmt.Sprintf("%q is built by %s but belongs to %s", name, system, f.System))
			case b.Kind() != f.Kind:
				problems = append(problems, fmt.Sprintf("%q: catalog kind %s, builder kind %s", name, f.Kind, b.Kind()))
			default:
				problems = append(problems, routeProblems(f, b)...)
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

// SystemErrors is the error shape of a system's HTTP functions (the gateway
// answers its own 404s and 405s in it).
func SystemErrors(system string) httpapi.ErrorWriter {
	for _, f := range catalog.OfSystem(system) {
		if b, ok := builderOf(f.Name); ok && f.Kind == catalog.HTTP {
			return b.Errors.Write
		}
	}
	return httpapi.WriteJSONError
}

// routeProblems names each catalog route of f that its registration does not
// serve and each registered operation the catalog does not route.
func routeProblems(f catalog.Function, b function.Builder) []string {
	listed := map[string]bool{}
	for _, r := range f.Routes {
		listed[r.String()] = true
	}
	var problems []string
	for _, op := range b.Operations {
		if !listed[op.Route()] {
			problems = append(problems, fmt.Sprintf("%q registers %s, which its catalog entry does not route", f.Name, op.Route()))
		}
		delete(listed, op.Route())
	}
	for r := range listed {
		problems = append(problems, fmt.Sprintf("%q: catalog route %s has no registered operation", f.Name, r))
	}
	return problems
}

// OpenAPIDocuments are the systems' OpenAPI documents, made from their
// registrations, by system. A system whose HTTP functions only mount routers
// of their own (the vault, which keeps Vault's API) has none.
func OpenAPIDocuments() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, sys := range catalog.Systems {
		api := apidoc.System{Name: sys.Name, Errors: httpapi.JSONErrors}
		documented := false
		for _, f := range catalog.OfSystem(sys.Name) {
			b, ok := builderOf(f.Name)
			if !ok || f.Kind != catalog.HTTP {
				continue
			}
			api.Errors = b.Errors
			for _, op := range b.Operations {
				api.Operations = append(api.Operations, op)
				documented = documented || !op.Mounted
			}
		}
		if !documented {
			continue
		}
		doc, err := apidoc.Document(api)
		if err != nil {
			return nil, err
		}
		out[sys.Name] = doc
	}
	return out, nil
}

func builderOf(name string) (function.Builder, bool) {
	for _, set := range Sets {
		if ctor, ok := set.Set[name]; ok {
			return ctor(), true
		}
	}
	return function.Builder{}, false
}
