package vault

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

// Every scalar is HMAC'd, numbers and booleans too: {"pin":1234} must not be
// logged in clear; null and the keys stay.
func TestAuditHashesEveryScalar(t *testing.T) {
	var data any
	dec := json.NewDecoder(strings.NewReader(`{"pin":1234,"ok":true,"ratio":0.5,"name":"x","none":null,"list":[7,false]}`))
	dec.UseNumber()
	if err := dec.Decode(&data); err != nil {
		t.Fatal(err)
	}
	var values []string
	collectScalars(data, &values)
	if strings.Join(values, ",") != "7,false,x,true,1234,0.5" {
		t.Fatalf("scalars in order: %v", values)
	}
	hashes := make([]string, len(values))
	for i := range hashes {
		hashes[i] = "hmac-sha256:h"
	}
	i := 0
	out, _ := json.Marshal(replaceScalars(data, hashes, &i))
	for _, clear := range []string{"1234", "true", "false", "0.5", `"x"`, ":7"} {
		if bytes.Contains(out, []byte(clear)) {
			t.Fatalf("%s is in clear: %s", clear, out)
		}
	}
	if !bytes.Contains(out, []byte(`"none":null`)) || !bytes.Contains(out, []byte(`"pin":"hmac-sha256:h"`)) {
		t.Fatalf("hashed: %s", out)
	}
}

// The unauthenticated status endpoints are not audited; everything else is.
func TestStatusEndpointsAreNotAudited(t *testing.T) {
	for target, want := range map[string]bool{
		"GET /v1/sys/health": true, "HEAD /v1/sys/health": true, "GET /v1/sys/seal-status": true, "GET /v1/sys/leader": true,
		"GET /v1/sys/init": true, "PUT /v1/sys/init": false, "PUT /v1/sys/unseal": false, "GET /v1/sys/mounts": false,
		"GET /v1/secret/data/x": false,
	} {
		method, path, _ := strings.Cut(target, " ")
		if got := statusEndpoint(httptest.NewRequest(method, path, nil)); got != want {
			t.Errorf("%s: %v, want %v", target, got, want)
		}
	}
}
