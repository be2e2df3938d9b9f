package build_test

import (
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stratumiops/stratumiops/localstack/build"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// Every catalog function, and the deployment's own Lambdas, build for Lambda
// (linux/arm64) within their size limit.
func TestEveryFunctionBuildsWithinBudget(t *testing.T) {
	var names []string
	for _, f := range catalog.Functions {
		names = append(names, f.Name)
	}
	names = append(names, catalog.InfraFunctions...)
	out := t.TempDir()
	results, err := build.Functions(context.Background(), filepath.Join("..", ".."), out, build.Lambda, names, runtime.NumCPU())
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(names) {
		t.Fatalf("%d results for %d functions", len(results), len(names))
	}
	for _, r := range build.OverLimit(results) {
		t.Errorf("%s is %d bytes, over its %d limit (localstack/build/limits.go)", r.Function, r.Size, r.Limit)
	}
	for _, r := range results {
		f, err := elf.Open(r.Path)
		if err != nil {
			t.Fatalf("%s: %v", r.Function, err)
		}
		if f.Machine != elf.EM_AARCH64 {
			t.Errorf("%s is %v, want arm64", r.Function, f.Machine)
		}
		if f.Section(".symtab") != nil {
			t.Errorf("%s is not stripped", r.Function)
		}
		f.Close()
		// An image function ships its bootstrap with the Dockerfile that
		// packages it; a zip function ships the bootstrap alone.
		dockerfile, err := os.ReadFile(filepath.Join(filepath.Dir(r.Path), "Dockerfile"))
		if fn, _ := catalog.Lookup(r.Function); fn.Image {
			if err != nil || string(dockerfile) != build.FunctionDockerfile {
				t.Errorf("%s is an image function: Dockerfile %q, %v", r.Function, dockerfile, err)
			}
		} else if err == nil {
			t.Errorf("%s is a zip function with a Dockerfile", r.Function)
		}
	}
}
