package devstack_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
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

// Each functions/<name>/main.go is `function.Main("<name>", <package>.<Constructor>)`
// with the very constructor that a set of the function's own system holds for
// it: the Lambda builds exactly what the devstack runs, and links that
// function's constructor only (no package-level set of its siblings).
func TestMainFilesUseTheirSystemSet(t *testing.T) {
	for _, f := range catalog.Functions {
		path := filepath.Join("..", "..", "functions", f.Name, "main.go")
		name, ctor, invoker, err := parseMain(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		var want []string
		for _, s := range devstack.Sets {
			if c, ok := s.Set[f.Name]; ok && s.System == f.System {
				want = append(want, runtime.FuncForPC(reflect.ValueOf(c).Pointer()).Name())
			}
		}
		if name != f.Name || len(want) != 1 || want[0] != ctor {
			t.Errorf("%s calls function.Main(%q, %s): want function.Main(%q, %v), the constructor of a %s set",
				path, name, ctor, f.Name, want, f.System)
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

// parseMain reads the function.Main call of a main.go: the function's name,
// the constructor as its full name (import path.Name) and the invoker as
// package.Name.
func parseMain(path string) (name, ctor, invoker string, err error) {
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly|parser.ParseComments)
	if err != nil {
		return "", "", "", err
	}
	imports := map[string]string{}
	for _, imp := range file.Imports {
		p, _ := strconv.Unquote(imp.Path.Value)
		imports[filepath.Base(p)] = p
	}
	file, err = parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		return "", "", "", err
	}
	selector := func(e ast.Expr) (string, string) {
		if sel, ok := e.(*ast.SelectorExpr); ok {
			if pkg, ok := sel.X.(*ast.Ident); ok {
				return pkg.Name, sel.Sel.Name
			}
		}
		return "", ""
	}
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) < 2 || len(call.Args) > 3 {
			return true
		}
		if _, fn := selector(call.Fun); fn != "Main" {
			return true
		}
		if lit, ok := call.Args[0].(*ast.BasicLit); ok {
			name, _ = strconv.Unquote(lit.Value)
		}
		if pkg, sel := selector(call.Args[1]); pkg != "" {
			ctor = imports[pkg] + "." + sel
		}
		if len(call.Args) == 3 {
			if pkg, sel := selector(call.Args[2]); pkg != "" {
				invoker = pkg + "." + sel
			}
		}
		return false
	})
	return name, ctor, invoker, nil
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
