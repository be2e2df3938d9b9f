package vault

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// The KV engine's values and typed errors reach the client in Vault's wire
// shape, through the one adapter (serveKV, writeEngineResponse, kvError).
func TestKVWireShape(t *testing.T) {
	v := newTestVault(t)
	call(v.h, "POST", "/v1/secret/data/app", v.root, `{"data":{"k":"v1"}}`)
	call(v.h, "POST", "/v1/secret/data/app", v.root, `{"data":{"k":"v2"}}`)
	call(v.h, "DELETE", "/v1/secret/data/app", v.root, "")
	big := `{"data":{"k":"` + strings.Repeat("x", 600<<10) + `"}}`
	for _, c := range []struct {
		method, path, body string
		status             int
		want               string // in the body
	}{
		{"GET", "/v1/secret/data/missing", "", 404, `{"errors":[]}`},
		{"GET", "/v1/secret/data/app", "", 404, `"deletion_time":"20`},
		{"GET", "/v1/secret/data/app?version=1", "", 200, `"data":{"k":"v1"}`},
		{"GET", "/v1/secret/data/app?version=x", "", 400, `invalid version \"x\"`},
		{"POST", "/v1/secret/data/app", `{"data":{"k":"v3"},"options":{"cas":1}}`, 400, "check-and-set parameter did not match the current version"},
		{"POST", "/v1/secret/data/app", `{"data":`, 400, "failed to parse JSON input"},
		{"POST", "/v1/secret/data/app", big, 413, "secret exceeds 524288 bytes"},
		{"PATCH", "/v1/secret/data/app", `{"data":{"k":"p"}}`, 415, "PATCH requires Content-Type application/merge-patch+json"},
		{"PUT", "/v1/secret/nothing/app", `{}`, 405, "unsupported operation"},
		{"GET", "/v1/secret/metadata/app", "", 200, `"current_version":2`},
	} {
		rec := call(v.h, c.method, c.path, v.root, c.body)
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s %s: %d %.300s, want %d with %s", c.method, c.path, rec.Code, rec.Body, c.status, c.want)
		}
	}
	req := httptest.NewRequest("PATCH", "/v1/secret/data/app", strings.NewReader(`{"data":{"k":"p"}}`))
	req.Header.Set("X-Vault-Token", v.root)
	req.Header.Set("Content-Type", "application/merge-patch+json")
	rec := httptest.NewRecorder()
	v.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound { // the current version is deleted
		t.Errorf("PATCH of a deleted version: %d %s", rec.Code, rec.Body)
	}
}

// A write that trims versions beyond max_versions succeeds when one of them
// was destroyed (its data already gone): the trim deletes what is there.
// It used to store the version and then answer 500, so a client retrying
// the "failed" write made a duplicate version.
func TestKVTrimOverADestroyedVersion(t *testing.T) {
	v := newTestVault(t)
	for _, val := range []string{"a", "b", "c"} {
		if rec := call(v.h, "POST", "/v1/secret/data/trim", v.root, `{"data":{"k":"`+val+`"}}`); rec.Code != 200 {
			t.Fatalf("put %s: %d %s", val, rec.Code, rec.Body)
		}
	}
	if rec := call(v.h, "POST", "/v1/secret/destroy/trim", v.root, `{"versions":[1]}`); rec.Code != 204 {
		t.Fatalf("destroy: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "POST", "/v1/secret/metadata/trim", v.root, `{"max_versions":1}`); rec.Code != 204 {
		t.Fatalf("metadata: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "POST", "/v1/secret/data/trim", v.root, `{"data":{"k":"d"}}`); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"version":4`) {
		t.Fatalf("the write that trims: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "GET", "/v1/secret/metadata/trim", v.root, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"oldest_version":4`) {
		t.Fatalf("metadata after the trim: %d %s", rec.Code, rec.Body)
	}
	n, err := surreal.Query[int](context.Background(), v.db, "RETURN count((SELECT VALUE id FROM entries WHERE string::contains(path, 'trim')))", nil)
	if err != nil || n != 2 { // the metadata and version 4: versions 1–3 are gone from storage
		t.Fatalf("entries left after the trim: %d %v", n, err)
	}
}

// sys/unseal refuses a key that is neither hex nor base64 with Vault's 400,
// also when the vault is already unsealed (it used to answer the status).
func TestUnsealRefusesAMalformedKeyWhenUnsealed(t *testing.T) {
	v := newTestVault(t)
	if rec := call(v.h, "PUT", "/v1/sys/unseal", "", `{"key":"not a key!"}`); rec.Code != 400 || !strings.Contains(rec.Body.String(), "must be a valid hex or base64 string") {
		t.Fatalf("a malformed key on an unsealed vault: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "PUT", "/v1/sys/unseal", "", `{"key":"`+v.share+`"}`); rec.Code != 200 {
		t.Fatalf("a well-formed key on an unsealed vault: %d %s", rec.Code, rec.Body)
	}
}
