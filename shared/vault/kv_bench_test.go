package vault

import (
	"encoding/json"
	"testing"
)

// BenchmarkKVRead is one KV v2 read by a token with an HCL policy, through
// the vault's handler (no network): what a request costs in the functions.
func BenchmarkKVRead(b *testing.B) {
	v := newTestVault(b)
	body, _ := json.Marshal(map[string]string{"policy": `path "secret/data/app/*" { capabilities = ["read"] }`})
	if rec := call(v.h, "PUT", "/v1/sys/policies/acl/bench", v.root, string(body)); rec.Code != 204 {
		b.Fatalf("policy: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "POST", "/v1/secret/data/app/db", v.root, `{"data":{"user":"app","password":"s3cret"}}`); rec.Code != 200 {
		b.Fatalf("put: %d %s", rec.Code, rec.Body)
	}
	rec := call(v.h, "POST", "/v1/auth/token/create", v.root, `{"policies":["bench"],"ttl":"1h"}`)
	var out struct {
		Auth struct {
			ClientToken string `json:"client_token"`
		} `json:"auth"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		b.Fatal(err)
	}
	start := processCPU(b)
	for b.Loop() {
		if rec := call(v.h, "GET", "/v1/secret/data/app/db", out.Auth.ClientToken, ""); rec.Code != 200 {
			b.Fatalf("read: %d %s", rec.Code, rec.Body)
		}
	}
	// SurrealDB runs in a process of its own: this is the vault's CPU alone.
	b.ReportMetric(float64(processCPU(b)-start)/float64(b.N), "cpu-ns/op")
}
