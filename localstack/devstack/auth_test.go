package devstack

import (
	"strings"
	"testing"
)

// The devstack's own keys are fit for every function, and a key given
// through API_KEYS with a scope name Kogral would read as another scope's
// graph ("acme.web" is acme's) stops the devstack before it starts.
func TestDevCredentialsAreChecked(t *testing.T) {
	t.Setenv("API_KEYS", "")
	if err := checkAuth(); err != nil {
		t.Fatalf("dev credentials: %v", err)
	}
	t.Setenv("API_KEYS", `[{"name":"web","key_sha256":"`+strings.Repeat("ab", 32)+`","scopes":["acme.web"]}]`)
	if err := checkAuth(); err == nil || !strings.Contains(err.Error(), "acme.web") {
		t.Fatalf("API_KEYS with scope acme.web: %v", err)
	}
}
