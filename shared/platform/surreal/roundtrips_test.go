package surreal_test

import (
	"context"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Each query, however many statements it holds, is one round trip.
func TestRoundTripsCountQueries(t *testing.T) {
	ctx := context.Background()
	c := client(t, "t_roundtrips")
	if _, err := surreal.Query[int](ctx, c, "RETURN 1", nil); err != nil { // connected
		t.Fatal(err)
	}
	before := surreal.RoundTrips()
	for range 3 {
		if _, err := surreal.Query[int](ctx, c, "LET $a = 1; RETURN $a + 1;", nil); err != nil {
			t.Fatal(err)
		}
	}
	if n := surreal.RoundTrips() - before; n < 3 {
		t.Fatalf("3 queries counted as %d round trips", n)
	}
}
