package index

import (
	"math"
	"math/rand/v2"
	"testing"
)

// dot (gonum's assembly on amd64) and dotGo agree, up to float32 rounding,
// on vectors of the embeddings' length and on short ones with a remainder.
func TestDotAgreesWithGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, dims := range []int{384, 16, 7, 1} {
		for range 50 {
			a, b := randomUnit(rng, dims), randomUnit(rng, dims)
			if got, want := dot(a, b), dotGo(a, b); math.Abs(float64(got-want)) > 1e-5 {
				t.Fatalf("%d dimensions: dot %v, dotGo %v", dims, got, want)
			}
		}
	}
	if got := dot([]float32{1, 2, 3}, []float32{4, 5, 6}); got != 32 {
		t.Fatalf("dot = %v, want 32", got)
	}
}
