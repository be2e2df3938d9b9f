package catalog_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

func TestCatalogIsValid(t *testing.T) {
	if err := catalog.Validate(catalog.Systems, catalog.Streams, catalog.Functions); err != nil {
		t.Fatal(err)
	}
}

// Every folder under functions/ is a catalog function or one of the
// deployment's own (InfraFunctions), and every catalog function has a folder.
func TestFunctionsFoldersMatchCatalog(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "..", "..", "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range entries {
		if e.IsDir() {
			folders = append(folders, e.Name())
			if _, err := os.Stat(filepath.Join("..", "..", "..", "functions", e.Name(), "main.go")); err != nil {
				t.Errorf("functions/%s has no main.go", e.Name())
			}
		}
	}
	for _, f := range folders {
		if _, ok := catalog.Lookup(f); !ok && !slices.Contains(catalog.InfraFunctions, f) {
			t.Errorf("functions/%s is not in the catalog", f)
		}
	}
	for _, f := range catalog.Functions {
		if !slices.Contains(folders, f.Name) {
			t.Errorf("catalog function %s has no folder functions/%s", f.Name, f.Name)
		}
	}
}

func TestValidateNamesEachProblem(t *testing.T) {
	systems := []catalog.System{{Name: "demo"}, {Name: "other"}}
	streams := []catalog.Stream{{Name: "DEMO", Subjects: []string{"demo.>"}}}
	base := catalog.Function{System: "demo", MemoryMB: 128, Timeout: time.Second}
	with := func(f func(*catalog.Function)) catalog.Function { c := base; f(&c); return c }
	cases := []struct {
		name string
		fns  []catalog.Function
		want string
	}{
		{"route claimed twice", []catalog.Function{
			with(func(f *catalog.Function) {
				f.Name = "demo-a"
				f.Kind = catalog.HTTP
				f.Routes = []catalog.Route{{"GET", "/x"}}
			}),
			with(func(f *catalog.Function) {
				f.Name = "demo-b"
				f.Kind = catalog.HTTP
				f.Routes = []catalog.Route{{"GET", "/x"}}
			}),
		}, `claimed by both "demo-a" and "demo-b"`},
		{"consumer without stream", []catalog.Function{
			with(func(f *catalog.Function) {
				f.Name = "demo-c"
				f.Kind = catalog.Consumer
				f.MaxDeliver = 3
				f.Subjects = []string{"other.thing"}
			}),
		}, `"demo-c": subject "other.thing" is kept by no stream`},
		{"duplicate name", []catalog.Function{
			with(func(f *catalog.Function) { f.Name = "demo-d"; f.Kind = catalog.Invoke }),
			with(func(f *catalog.Function) { f.Name = "demo-d"; f.Kind = catalog.Invoke }),
		}, `"demo-d": listed twice`},
		{"invoke with route", []catalog.Function{
			with(func(f *catalog.Function) {
				f.Name = "demo-e"
				f.Kind = catalog.Invoke
				f.Routes = []catalog.Route{{"GET", "/y"}}
			}),
		}, `"demo-e": invoke-only function with routes`},
		{"bad memory", []catalog.Function{
			with(func(f *catalog.Function) { f.Name = "demo-f"; f.Kind = catalog.Invoke; f.MemoryMB = 64 }),
		}, `"demo-f": memory 64 MB`},
		{"invokes across systems", []catalog.Function{
			with(func(f *catalog.Function) { f.Name = "demo-h"; f.Kind = catalog.Invoke; f.Invokes = []string{"other-i"} }),
			{Name: "other-i", System: "other", Kind: catalog.Invoke, MemoryMB: 128, Timeout: time.Second},
		}, `invokes "other-i" of another system`},
		{"invokes a consumer", []catalog.Function{
			with(func(f *catalog.Function) { f.Name = "demo-j"; f.Kind = catalog.Invoke; f.Invokes = []string{"demo-k"} }),
			with(func(f *catalog.Function) {
				f.Name = "demo-k"
				f.Kind = catalog.Consumer
				f.MaxDeliver = 1
				f.Subjects = []string{"demo.x"}
			}),
		}, `"demo-k", which is not invoke-only`},
		{"bad schedule", []catalog.Function{
			with(func(f *catalog.Function) { f.Name = "demo-l"; f.Kind = catalog.Invoke; f.Schedule = "every minute" }),
		}, `schedule "every minute"`},
		{"batch too large", []catalog.Function{
			with(func(f *catalog.Function) {
				f.Name = "demo-m"
				f.Kind = catalog.Consumer
				f.MaxDeliver = 1
				f.Subjects = []string{"demo.x"}
				f.Batch = 500
			}),
		}, `"demo-m": batch 500 outside 0–100`},
		{"batch on an HTTP function", []catalog.Function{
			with(func(f *catalog.Function) {
				f.Name = "demo-n"
				f.Kind = catalog.HTTP
				f.Routes = []catalog.Route{{"GET", "/n"}}
				f.Batch = 10
			}),
		}, `"demo-n": only consumers take batches`},
		{"HTTP function outlasting API Gateway", []catalog.Function{
			with(func(f *catalog.Function) {
				f.Name = "demo-o"
				f.Kind = catalog.HTTP
				f.Routes = []catalog.Route{{"GET", "/o"}}
				f.Timeout = 30 * time.Second
			}),
		}, `"demo-o": timeout 30s above 28s`},
		{"callee not shorter than its caller", []catalog.Function{
			with(func(f *catalog.Function) {
				f.Name = "demo-p"
				f.Kind = catalog.Invoke
				f.Invokes = []string{"demo-q"}
				f.Timeout = 10 * time.Second
			}),
			with(func(f *catalog.Function) { f.Name = "demo-q"; f.Kind = catalog.Invoke; f.Timeout = 30 * time.Second }),
		}, `"demo-p" (timeout 10s) invokes "demo-q" synchronously, whose timeout 30s is not shorter`},
		{"wrong system prefix", []catalog.Function{
			with(func(f *catalog.Function) { f.Name = "other-g"; f.Kind = catalog.Invoke }),
		}, `must start with its system`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := catalog.Validate(systems, streams, tc.fns)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func TestSubjectMatches(t *testing.T) {
	cases := []struct {
		pattern, subject string
		want             bool
	}{
		{"a.>", "a.b", true},
		{"a.>", "a.b.c", true},
		{"a.>", "a", false},
		{"a.*", "a.b", true},
		{"a.*", "a.b.c", false},
		{"a.b", "a.b", true},
		{"a.b", "a.c", false},
		{"a.*.c", "a.x.c", true},
	}
	for _, c := range cases {
		if got := catalog.SubjectMatches(c.pattern, c.subject); got != c.want {
			t.Errorf("SubjectMatches(%q, %q) = %v", c.pattern, c.subject, got)
		}
	}
}

func TestEnvironmentFollowsNeeds(t *testing.T) {
	f := catalog.Function{Database: "portfolio", Env: map[string]string{"EXTRA": "1"}}
	env := f.Environment()
	for _, k := range []string{"SURREAL_URL", "SURREAL_USER", "SURREAL_PASS", "SURREAL_NAMESPACE", "LOG_LEVEL", "EXTRA"} {
		if _, ok := env[k]; !ok {
			t.Errorf("missing %s", k)
		}
	}
	if _, ok := env["NATS_URL"]; ok {
		t.Error("NATS_URL for a function that does not publish")
	}
	if _, ok := (catalog.Function{Bus: true}).Environment()["NATS_URL"]; !ok {
		t.Error("publisher without NATS_URL")
	}
}
