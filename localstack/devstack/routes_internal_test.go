package devstack

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// A route added to the catalog alone, or an operation registered alone, is
// named; the registry refuses to build with either.
func TestRouteProblemsNameEitherSide(t *testing.T) {
	f := catalog.Function{Name: "demo-api", Kind: catalog.HTTP,
		Routes: []catalog.Route{{Method: "GET", Path: "/a"}, {Method: "GET", Path: "/only-in-catalog"}}}
	noop := func(struct{}, http.ResponseWriter, *http.Request) error { return nil }
	spec := httpapi.Spec[struct{}]{Ops: []httpapi.Op[struct{}]{
		{Method: "GET", Path: "/a", Handle: noop},
		{Method: "POST", Path: "/only-registered", Handle: noop},
	}}
	got := routeProblems(f, function.Builder{Operations: spec.Operations()})
	slices.Sort(got)
	want := []string{
		`"demo-api" registers POST /only-registered, which its catalog entry does not route`,
		`"demo-api": catalog route GET /only-in-catalog has no registered operation`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	f.Routes = f.Routes[:1]
	if got := routeProblems(f, function.Builder{Operations: spec.Operations()[:1]}); len(got) != 0 {
		t.Fatalf("matching sides: %q", got)
	}
}
