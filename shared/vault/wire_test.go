package vault

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// A body of the wrong shape is a 400 in JSON's terms, not Go's.
func TestBadBodyNamesJSONKinds(t *testing.T) {
	v := newTestVault(t)
	rec := call(v.h, "POST", "/v1/secret/data/x", v.root, `{"data":"not an object"}`)
	body := rec.Body.String()
	if rec.Code != 400 || !strings.Contains(body, `field \"data\": want object, got string`) || strings.Contains(body, "interface") {
		t.Fatalf("data as a string: %d %s", rec.Code, body)
	}
}

// An envelope with an engine's raw data decodes as json.Marshal's would,
// with data in its place, even when another member holds "data":null.
func TestEnvelopeSplicesRawData(t *testing.T) {
	e := envelope{RequestID: `id "data":null`, LeaseID: `"data":null`, Data: json.RawMessage(" {\"ciphertext\": \"vault:v1:x\"}\n"),
		Warnings: []string{`"data":null`}, Auth: map[string]any{"data": nil}, MountType: "transit"}
	got, err := spliceData(e, e.Data.(json.RawMessage))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(e)
	var g, w map[string]any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	_ = json.Unmarshal(want, &w)
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("spliced %s\nmarshalled %s", got, want)
	}
}

// A body of only whitespace is no data, as in Vault: it reaches vault-crypto
// as no body, not as a JSON member without a value.
func TestWhitespaceBodyIsNoData(t *testing.T) {
	v := newTestVault(t)
	if rec := call(v.h, "POST", "/v1/sys/mounts/transit", v.root, `{"type":"transit"}`); rec.Code != 204 {
		t.Fatalf("mount: %d %s", rec.Code, rec.Body)
	}
	if rec := call(v.h, "POST", "/v1/transit/keys/blank", v.root, " \n\t"); rec.Code/100 != 2 {
		t.Fatalf("create a key with a blank body: %d %s", rec.Code, rec.Body)
	}
}
