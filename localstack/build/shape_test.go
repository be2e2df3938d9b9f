package build_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// maxFuncLines is the longest a non-test function may be (from `func` to
// its closing brace): past it a function does several things and reads as a
// switch router; split it.
const maxFuncLines = 100

// stillLong are the functions known to be over maxFuncLines, to be split
// (an entry that is no longer over the limit fails too: remove it).
var stillLong = map[string]string{}

// No non-test function in the repository is longer than maxFuncLines.
func TestNoLongFunctions(t *testing.T) {
	long, err := longFunctions(filepath.Join("..", ".."), maxFuncLines)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, l := range long {
		if _, ok := stillLong[l.where]; ok {
			seen[l.where] = true
			t.Logf("%s is %d lines, over %d (known: %s)", l.where, l.lines, maxFuncLines, stillLong[l.where])
			continue
		}
		t.Errorf("%s is %d lines, over %d: split it", l.where, l.lines, maxFuncLines)
	}
	for where := range stillLong {
		if !seen[where] {
			t.Errorf("%s is no longer over %d lines: remove it from stillLong", where, maxFuncLines)
		}
	}
}

type longFunc struct {
	where string
	lines int
}

// longFunctions lists the function declarations (methods included) of the
// non-test Go files under root longer than max lines, longest first. It skips
// tools, node_modules, testdata and hidden folders.
func longFunctions(root string, max int) ([]longFunc, error) {
	var out []longFunc
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if n > max {
				out = append(out, longFunc{where: fmt.Sprintf("%s: %s", rel, funcName(fn)), lines: n})
			}
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].lines > out[j].lines })
	return out, err
}

func funcName(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return fn.Name.Name
	}
	recv := fn.Recv.List[0].Type
	if idx, ok := recv.(*ast.IndexExpr); ok {
		recv = idx.X
	}
	star := ""
	if s, ok := recv.(*ast.StarExpr); ok {
		star, recv = "*", s.X
		if idx, ok := recv.(*ast.IndexExpr); ok {
			recv = idx.X
		}
	}
	if id, ok := recv.(*ast.Ident); ok {
		return "(" + star + id.Name + ")." + fn.Name.Name
	}
	return fn.Name.Name
}
