package keeper

import "testing"

type countingEngine struct {
	Engine
	forgot int
}

func (c *countingEngine) Forget() { c.forgot++ }

// Engines forget what they cached when the seal generation changes (after a
// snapshot restore and unseal, storage may hold other keys at the same
// revisions), and only then.
func TestEnginesForgetOnNewGeneration(t *testing.T) {
	e := &countingEngine{}
	set := &engineSet{byType: map[string]Engine{"transit": e}}
	for _, g := range []int{3, 3, 3, 5, 5, 6} {
		set.sync(g)
	}
	if e.forgot != 3 {
		t.Fatalf("forgot %d times, want 3 (generations 3, 5, 6)", e.forgot)
	}
}
