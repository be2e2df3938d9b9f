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
