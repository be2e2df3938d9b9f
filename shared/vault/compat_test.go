package vault

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// RFC 7396's own examples (appendix A), as kv patch applies them.
func TestMergePatch(t *testing.T) {
	for _, c := range []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	} {
		var target, patch map[string]any
		_ = json.Unmarshal([]byte(c.target), &target)
		_ = json.Unmarshal([]byte(c.patch), &patch)
		got, _ := json.Marshal(mergePatch(target, patch))
		if string(got) != c.want {
			t.Errorf("%s + %s = %s, want %s", c.target, c.patch, got, c.want)
		}
	}
}

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

// oldest_version stays 0 until versions are trimmed, as in Vault.
func TestPruneOldestVersion(t *testing.T) {
	meta := &kvMeta{Versions: map[string]*versionMeta{"1": {}, "2": {}, "3": {}}}
	if dropped := prune(meta, 10); len(dropped) != 0 || meta.OldestVersion != 0 {
		t.Fatalf("no trim: %v %d", dropped, meta.OldestVersion)
	}
	if dropped := prune(meta, 2); len(dropped) != 1 || dropped[0] != 1 || meta.OldestVersion != 2 {
		t.Fatalf("trim to 2: %v %d", dropped, meta.OldestVersion)
	}
}

func TestIndexedPath(t *testing.T) {
	if got := indexedPath("secret/data/app"); got != "/0:secret/1:data/2:app/3." {
		t.Fatal(got)
	}
}

// kv delete/undelete/destroy -versions: the vault CLI sends strings.
func TestCommaInts(t *testing.T) {
	for in, want := range map[string]string{
		`["1", "2"]`: "[1 2]", `[3, 4]`: "[3 4]", `"5,6"`: "[5 6]", `7`: "[7]", `null`: "[]",
		`["x"]`: "error", `[1.5]`: "error", `[-1]`: "error", `{}`: "error",
	} {
		var v any
		_ = json.Unmarshal([]byte(in), &v)
		got, err := commaInts(v)
		if s := fmt.Sprint(got); (err != nil) != (want == "error") || err == nil && s != want {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
}
