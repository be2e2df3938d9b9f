package function

import (
	"context"
	"testing"
	"time"
)

// A secret is read once per TTL, and again at once when a sign-in with
// the cached value was refused (refresh).
func TestSecretCacheTTLAndRefresh(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	reads, pass := 0, "p1"
	c := &secretCache{ttl: 5 * time.Minute, now: func() time.Time { return now },
		read: func(context.Context) (map[string]string, error) {
			reads++
			return map[string]string{"user": "fn_x", "pass": pass}, nil
		}}
	get := func(refresh bool) string {
		v, err := c.get(context.Background(), refresh)
		if err != nil {
			t.Fatal(err)
		}
		return v["pass"]
	}
	if get(false) != "p1" || get(false) != "p1" || reads != 1 {
		t.Fatalf("reads %d, want 1 within the TTL", reads)
	}
	pass = "p2" // rotated
	now = now.Add(4 * time.Minute)
	if get(false) != "p1" || reads != 1 {
		t.Fatalf("read again before the TTL (%d)", reads)
	}
	if get(true) != "p2" || reads != 2 {
		t.Fatalf("refresh did not read again (%d)", reads)
	}
	pass = "p3"
	now = now.Add(6 * time.Minute)
	if get(false) != "p3" || reads != 3 {
		t.Fatalf("not read again after the TTL (%d)", reads)
	}
}
