package devstack_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

func TestRegistryMatchesCatalog(t *testing.T) {
	if _, err := devstack.Builders(); err != nil {
		t.Fatal(err)
	}
}

// Each functions/<name>/main.go is `function.Main("<name>", <package>.Functions)`
// with a set of the function's own system that builds it: the Lambda builds
// exactly what the devstack runs.
func TestMainFilesUseTheirSystemSet(t *testing.T) {
	for _, f := range catalog.Functions {
		path := filepath.Join("..", "..", "functions", f.Name, "main.go")
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		var name, set, invoker string
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) < 2 || len(call.Args) > 3 {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Main" {
				return true
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); ok {
				name, _ = strconv.Unquote(lit.Value)
			}
			if sel, ok := call.Args[1].(*ast.SelectorExpr); ok {
				if pkg, ok := sel.X.(*ast.Ident); ok && sel.Sel.Name == "Functions" {
					set = pkg.Name
				}
			}
			if len(call.Args) == 3 {
				if sel, ok := call.Args[2].(*ast.SelectorExpr); ok {
					if pkg, ok := sel.X.(*ast.Ident); ok {
						invoker = pkg.Name + "." + sel.Sel.Name
					}
				}
			}
			return false
		})
		found := false
		for _, s := range devstack.Sets {
			if _, ok := s.Set[f.Name]; ok && s.Package == set && s.System == f.System {
				found = true
			}
		}
		if name != f.Name || !found {
			t.Errorf("%s calls function.Main(%q, %s.Functions): no set of system %s in package %s builds %q",
				path, name, set, f.System, set, f.Name)
		}
		// Only a function that invokes others links the Lambda client.
		if want := map[bool]string{true: "lambdaclient.FromEnv"}[len(f.Invokes) > 0]; invoker != want {
			t.Errorf("%s passes invoker %q; its catalog entry invokes %v, so it should pass %q", path, invoker, f.Invokes, want)
		}
	}
	entries, _ := os.ReadDir(filepath.Join("..", "..", "functions"))
	if len(entries) != len(catalog.Functions)+len(catalog.InfraFunctions) {
		t.Errorf("%d function folders, %d catalog functions and %d of the deployment's own", len(entries),
			len(catalog.Functions), len(catalog.InfraFunctions))
	}
}

// The committed OpenAPI documents are the ones the registrations make
// (make openapi rewrites them), and each documented system serves its own.
func TestOpenAPIDocumentsAreCurrent(t *testing.T) {
	docs, err := devstack.OpenAPIDocuments()
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("no system has a document")
	}
	for system, doc := range docs {
		committed, err := os.ReadFile(filepath.Join("..", "..", "schemas", "openapi", system+".json"))
		if err != nil || !bytes.Equal(committed, doc) {
			t.Errorf("schemas/openapi/%s.json is not what the registrations make (%v): run make openapi", system, err)
		}
		if !bytes.Equal(schemas.OpenAPIDocument(system), doc) {
			t.Errorf("%s: the embedded document differs from the registrations'", system)
		}
	}
}
