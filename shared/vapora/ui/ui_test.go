package ui

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, method, path string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func TestServesTheShellForAppPaths(t *testing.T) {
	for _, p := range []string{"/ui/", "/ui/projects/prj_1", "/ui/agents", "/ui/costs"} {
		rec := get(t, "GET", p)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `<main id="main">`) {
			t.Fatalf("%s: %d %.200s", p, rec.Code, rec.Body)
		}
		if rec.Header().Get("Content-Security-Policy") != CSP || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("%s: headers %v", p, rec.Header())
		}
	}
	if rec := get(t, "GET", "/ui/app.js"); rec.Code != 200 || rec.Header().Get("Content-Type") != "text/javascript; charset=utf-8" {
		t.Fatalf("app.js: %d %v", rec.Code, rec.Header())
	}
	if rec := get(t, "HEAD", "/ui/app.css"); rec.Code != 200 || rec.Body.Len() != 0 {
		t.Fatalf("HEAD app.css: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	for p, want := range map[string]int{"/ui/missing.js": 404, "/ui/../ui.go": 404, "/other/": 404} {
		if rec := get(t, "GET", p); rec.Code != want {
			t.Fatalf("%s: %d, want %d", p, rec.Code, want)
		}
	}
	if rec := get(t, "POST", "/ui/"); rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rec.Code)
	}
}

// The policy forbids inline script and style, so the files must have none;
// and the bundle carries no credential.
func TestNoInlineCodeAndNoSecrets(t *testing.T) {
	if strings.Contains(CSP, "unsafe-inline") || strings.Contains(CSP, "unsafe-eval") {
		t.Fatal("CSP allows inline code")
	}
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>[^<]|<style|\sstyle=|\son[a-z]+=|javascript:`)
	secret := regexp.MustCompile(`stratum-dev-key|API_JWT_SECRET|BEGIN [A-Z ]*PRIVATE KEY|sk-[A-Za-z0-9]{20}`)
	err := fs.WalkDir(Files(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		raw, _ := fs.ReadFile(Files(), name)
		if strings.HasSuffix(name, ".html") && inline.Match(raw) {
			t.Errorf("%s has inline code: %q", name, inline.Find(raw))
		}
		if m := secret.Find(raw); m != nil {
			t.Errorf("%s carries %q", name, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The vendored libraries are the ones web/package-lock.json pins: same
// version in the file's banner, and, once `make deps` installed them, the
// same bytes as the npm package.
func TestVendoredFilesMatchTheLock(t *testing.T) {
	raw, err := os.ReadFile("web/package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	if err := json.Unmarshal(raw, &lock); err != nil {
		t.Fatal(err)
	}
	for _, v := range vendored {
		version := lock.Packages["node_modules/"+v.pkg].Version
		if version == "" {
			t.Fatalf("%s is not in web/package-lock.json", v.pkg)
		}
		ours, err := fs.ReadFile(Files(), "vendor/"+filepath.Base(v.file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(ours[:min(len(ours), 300)], []byte(v.banner+version)) {
			t.Errorf("vendor/%s is not %s %s: %.120q", filepath.Base(v.file), v.pkg, version, ours)
		}
		npm, err := os.ReadFile(filepath.Join("web/node_modules", v.pkg, v.file))
		if os.IsNotExist(err) {
			t.Logf("web/node_modules/%s absent (make deps installs it): banner checked only", v.pkg)
			continue
		}
		if err != nil || !bytes.Equal(npm, ours) {
			t.Errorf("vendor/%s differs from the npm package %s (run make ui-vendor): %v", filepath.Base(v.file), v.pkg, err)
		}
	}
}

var vendored = []struct{ pkg, file, banner string }{
	{"sortablejs", "Sortable.min.js", "Sortable "},
	{"chart.js", "dist/chart.umd.min.js", "Chart.js v"},
}
