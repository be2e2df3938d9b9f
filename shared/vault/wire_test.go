package vault

import (
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
