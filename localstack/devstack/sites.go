package devstack

import (
	"fmt"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/vapora/ui"
)

// SiteHandlers serve the catalog's static pages, by system and prefix.
var SiteHandlers = map[string]http.Handler{
	"vapora " + ui.Prefix: ui.Handler(),
}

// mountSites serves a system's static pages on its gateway; it returns how
// many it mounted.
func mountSites(system string, mux *http.ServeMux) (int, error) {
	sites := catalog.SitesOf(system)
	for _, s := range sites {
		h, ok := SiteHandlers[s.System+" "+s.Prefix]
		if !ok {
			return 0, fmt.Errorf("the catalog lists the page %s%s, which the devstack has no files for", s.System, s.Prefix)
		}
		mux.Handle("GET "+s.Prefix, h)
	}
	return len(sites), nil
}
