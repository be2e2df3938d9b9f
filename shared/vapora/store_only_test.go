package vapora

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestOnlyStoreFilesQueryTheDatabase keeps every query of package vapora in
// its store files (store*.go): no other file may call a function of
// shared/platform/surreal that takes the database client, nor a method of a
// client held in a db field.
func TestOnlyStoreFilesQueryTheDatabase(t *testing.T) {
	clientFuncs := surrealClientFuncs(t)
	if !clientFuncs["Query"] || !clientFuncs["StartFeed"] {
		t.Fatalf("surreal's client functions not found (found %v): the check would pass vacuously", clientFuncs)
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, name := range files {
		if strings.HasPrefix(name, "store") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		checked++
		for _, v := range dbCalls(t, name, clientFuncs) {
			t.Errorf("%s: %s queries the database outside the store; move it to a store*.go file", v.pos, v.what)
		}
	}
	if checked == 0 {
		t.Fatal("no non-store file checked")
	}
}

// TestDBCallCheckCatches proves the check sees an inline query and a client method call.
func TestDBCallCheckCatches(t *testing.T) {
	src := `package vapora
func f(s *Store) {
	_, _ = surreal.Query[any](ctx, s.db, "DELETE x", nil)
	_ = s.db.Ping(ctx)
	_ = surreal.Atomic("x")
}`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "inline.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := findDBCalls(fset, f, map[string]bool{"Query": true})
	if len(got) != 2 {
		t.Fatalf("found %v, want the Query call and the Ping call", got)
	}
}

type dbCall struct{ pos, what string }

// surrealClientFuncs names the exported functions of the surreal package
// that take a *Client.
func surrealClientFuncs(t *testing.T) map[string]bool {
	t.Helper()
	paths, err := filepath.Glob("../platform/surreal/*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	fset := token.NewFileSet()
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !fn.Name.IsExported() {
				continue
			}
			for _, field := range fn.Type.Params.List {
				if star, ok := field.Type.(*ast.StarExpr); ok {
					if id, ok := star.X.(*ast.Ident); ok && id.Name == "Client" {
						out[fn.Name.Name] = true
					}
				}
			}
		}
	}
	return out
}

func dbCalls(t *testing.T, name string, clientFuncs map[string]bool) []dbCall {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return findDBCalls(fset, f, clientFuncs)
}

func findDBCalls(fset *token.FileSet, f *ast.File, clientFuncs map[string]bool) []dbCall {
	var out []dbCall
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		fun := call.Fun
		switch g := fun.(type) { // generic instantiation: surreal.Query[T]
		case *ast.IndexExpr:
			fun = g.X
		case *ast.IndexListExpr:
			fun = g.X
		}
		sel, ok := fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "surreal" && clientFuncs[sel.Sel.Name] {
			out = append(out, dbCall{fset.Position(call.Pos()).String(), "surreal." + sel.Sel.Name})
		}
		if recv, ok := sel.X.(*ast.SelectorExpr); ok && recv.Sel.Name == "db" {
			out = append(out, dbCall{fset.Position(call.Pos()).String(), "db." + sel.Sel.Name})
		}
		return true
	})
	return out
}
