package catalog

// Site is a system's static web page: files served under Prefix on the
// system's gateway. The devstack serves them beside the system's routes; in
// AWS they belong in an S3 bucket behind CloudFront with the system's HTTP
// and WebSocket APIs as the other origins, so the page and the API share an
// origin.
type Site struct {
	System      string
	Prefix      string
	Description string
}

// Sites lists the static pages.
var Sites = []Site{
	{System: "vapora", Prefix: "/ui/", Description: "Vapora's board: projects, Kanban board, agents, costs (issue 22)."},
}

// SitesOf lists a system's static pages.
func SitesOf(system string) []Site {
	var out []Site
	for _, s := range Sites {
		if s.System == system {
			out = append(out, s)
		}
	}
	return out
}
