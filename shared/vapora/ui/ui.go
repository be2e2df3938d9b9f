// Package ui is Vapora's web page: static files (HTML, CSS, plain ES modules
// and the vendored SortableJS, no build step) embedded in the binary. The
// devstack serves them under /ui/ on Vapora's gateway, beside the API, so the
// page and the API share an origin; in AWS the same files go to an S3 bucket
// behind CloudFront with the APIs as origins.
//
// The page holds no secret: the caller types an API key or a JWT once (kept in
// session storage) or passes ?token=, and every call sends it as the API's
// own clients do.
package ui

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

// Prefix is where the page is served.
const Prefix = "/ui/"

// CSP is the page's Content-Security-Policy: scripts and styles from the page's
// origin only (no inline script or style), calls to the same origin only,
// nothing framed and no form posted elsewhere.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

//go:embed static
var static embed.FS

// Files are the page's files, rooted at the directory served under Prefix.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded directory is there by construction
	}
	return sub
}

// Handler serves the page: a file by its name under Prefix, and the shell
// (index.html) for every other path without an extension, so that
// /ui/projects/{id} and /ui/agents load the app, which routes itself.
func Handler() http.Handler {
	files := Files()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "the page is read-only: GET or HEAD", http.StatusMethodNotAllowed)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		if name == "" || path.Ext(name) == "" {
			name = "index.html"
		}
		body, err := fs.ReadFile(files, name)
		if err != nil || strings.Contains(name, "..") {
			http.Error(w, "no such file under "+Prefix, http.StatusNotFound)
			return
		}
		h := w.Header()
		h.Set("Content-Type", contentType(name))
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		// ?token= must not leak to other sites through the referrer.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(body)
		}
	})
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}
