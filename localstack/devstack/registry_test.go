package devstack_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

func TestRegistryMatchesCatalog(t *testing.T) {
	if _, err := devstack.Builders(); err != nil {
		t.Fatal(err)
	}
}

// Each functions/<name>/main.go is `function.Main("<name>", <system>.Functions)`
// with the set of the function's own system: the Lambda builds exactly what the
// devstack runs.
func TestMainFilesUseTheirSystemSet(t *testing.T) {
	for _, f := range catalog.Functions {
		path := filepath.Join("..", "..", "functions", f.Name, "main.go")
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		var name, set string
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
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
			return false
		})
		if name != f.Name || set != f.System {
			t.Errorf("%s calls function.Main(%q, %s.Functions), want (%q, %s.Functions)", path, name, set, f.Name, f.System)
		}
		if _, ok := devstack.Systems[f.System][f.Name]; !ok {
			t.Errorf("%s.Functions has no %s", f.System, f.Name)
		}
	}
	entries, _ := os.ReadDir(filepath.Join("..", "..", "functions"))
	if len(entries) != len(catalog.Functions) {
		t.Errorf("%d function folders, %d catalog functions", len(entries), len(catalog.Functions))
	}
}
