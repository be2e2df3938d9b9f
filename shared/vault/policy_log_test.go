package vault

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// A denial's decision log names the token by a digest of its accessor, never
// the accessor itself (with it, anyone allowed to look up or revoke by
// accessor could act on the token), and the same token by the same name.
func TestDecisionLogKeepsAccessorsOut(t *testing.T) {
	v := newTestVault(t)
	tok := createToken(t, v, v.root, `{"policies":["nothing-here"],"ttl":"1h"}`)
	var logs bytes.Buffer
	prev := slog.Default() // the request middleware logs through the default logger
	slog.SetDefault(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(prev) })
	for range 2 {
		req := httptest.NewRequest("GET", "/v1/secret/data/app/db", nil)
		req.Header.Set("X-Vault-Token", tok.token)
		rec := httptest.NewRecorder()
		v.h.ServeHTTP(rec, req)
		if rec.Code != 403 {
			t.Fatalf("read without a policy: %d %s", rec.Code, rec.Body)
		}
	}
	out := logs.String()
	if strings.Count(out, "authz decision") != 2 {
		t.Fatalf("want two decision lines, got:\n%s", out)
	}
	if strings.Contains(out, tok.accessor) || strings.Contains(out, tok.token) {
		t.Fatalf("the decision log names the token's accessor or id:\n%s", out)
	}
	if name := accessorDigest(tok.accessor); strings.Count(out, name) != 2 {
		t.Fatalf("want the token named %s in both lines:\n%s", name, out)
	}
}
