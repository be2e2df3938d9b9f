package devstack

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// A bind beyond loopback exposes SurrealDB (root/root), NATS and the APIs:
// refused without InsecureBind, before anything starts; with it, a warning.
func TestNonLoopbackBindNeedsTheFlag(t *testing.T) {
	for _, host := range []string{"0.0.0.0", "::", "192.168.1.20"} {
		_, err := Start(context.Background(), Config{Host: host, EphemeralPorts: true, Memory: true})
		if err == nil || !strings.Contains(err.Error(), "--insecure-bind") {
			t.Errorf("--host %s: %v", host, err)
		}
	}
	var logs bytes.Buffer
	if err := checkBind(Config{Host: "0.0.0.0", InsecureBind: true, Log: obs.NewLogger(&logs, "")}); err != nil ||
		!strings.Contains(logs.String(), "root") {
		t.Errorf("with the flag: %v, logged %q", err, logs.String())
	}
	for _, host := range []string{"127.0.0.1", "localhost", "::1"} {
		if err := checkBind(Config{Host: host}); err != nil {
			t.Errorf("--host %s: %v", host, err)
		}
	}
}
