package vault

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestApplyTune(t *testing.T) {
	m := Mount{Path: "secret/", Type: "kv", Options: map[string]string{"version": "2"}}
	if err := m.applyTune(tuneRequest{DefaultLeaseTTL: "1h", MaxLeaseTTL: float64(7200)}); err != nil {
		t.Fatal(err)
	}
	if v := m.tuneView(); v["default_lease_ttl"] != int64(3600) || v["max_lease_ttl"] != int64(7200) {
		t.Fatalf("tuned: %v", v)
	}
	if err := m.applyTune(tuneRequest{MaxLeaseTTL: "system", DefaultLeaseTTL: "system"}); err != nil || m.Config != (mountConfig{}) {
		t.Fatalf("system resets: %+v %v", m.Config, err)
	}
	if v := m.tuneView(); v["max_lease_ttl"] != int64(2764800) {
		t.Fatalf("default view: %v", v)
	}
	for body, want := range map[*tuneRequest]string{
		{DefaultLeaseTTL: "2h", MaxLeaseTTL: "1h"}:        "cannot exceed",
		{MaxLeaseTTL: "soon"}:                             "invalid max_lease_ttl",
		{Listing: "unauth", TokenType: "batch"}:           "listing_visibility",
		{Options: map[string]string{"version": "1"}}:      "KV version",
		{Options: map[string]string{"other": "1"}}:        `unsupported mount option "other"`,
		{ForceNoCache: true, AuditReq: []string{"token"}}: "audit_non_hmac_request_keys",
	} {
		m := Mount{Path: "secret/", Type: "kv", Options: map[string]string{"version": "2"}}
		if err := m.applyTune(*body); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", *body, err, want)
		}
	}
}

func TestCapabilityPaths(t *testing.T) {
	for in, want := range map[[2]string]string{
		{`"a/b"`, ``}:           "a/b",
		{``, `["a", "/b/"]`}:    "a,b",
		{``, `"a, b"`}:          "a,b",
		{`"c"`, `["a"]`}:        "a,c",
		{`null`, `null`}:        "error",
		{``, `[1]`}:             "error",
		{`"  "`, ``}:            "error",
		{``, `["secret/data"]`}: "secret/data",
	} {
		got, err := capabilityPaths(json.RawMessage(in[0]), json.RawMessage(in[1]))
		if s := strings.Join(got, ","); (err != nil) != (want == "error") || err == nil && s != want {
			t.Errorf("path %s paths %s: %v %v, want %s", in[0], in[1], got, err, want)
		}
	}
}

func TestIndexedPath(t *testing.T) {
	if got := indexedPath("secret/data/app"); got != "/0:secret/1:data/2:app/3." {
		t.Fatal(got)
	}
}
