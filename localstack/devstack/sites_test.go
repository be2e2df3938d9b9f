package devstack

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// Every page the catalog lists has files in the devstack, and the devstack
// serves no page the catalog does not list.
func TestSitesMatchTheCatalog(t *testing.T) {
	listed := map[string]bool{}
	for _, s := range catalog.Sites {
		listed[s.System+" "+s.Prefix] = true
		if !strings.HasPrefix(s.Prefix, "/") || !strings.HasSuffix(s.Prefix, "/") {
			t.Errorf("%s: prefix %q must start and end with /", s.System, s.Prefix)
		}
		mux := http.NewServeMux()
		if n, err := mountSites(s.System, mux); err != nil || n == 0 {
			t.Fatalf("%s: %d mounted, %v", s.System, n, err)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", s.Prefix, nil))
		if rec.Code != 200 || rec.Header().Get("Content-Security-Policy") == "" {
			t.Errorf("%s%s: %d %v", s.System, s.Prefix, rec.Code, rec.Header())
		}
	}
	for key := range SiteHandlers {
		if !listed[key] {
			t.Errorf("the devstack serves %q, which the catalog does not list", key)
		}
	}
}
