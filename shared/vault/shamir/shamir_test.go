package shamir

import (
	"bytes"
	"crypto/rand"
	"testing"
)

func TestSplitCombineEverySubset(t *testing.T) {
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	shares, err := Split(secret, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shares {
		if len(s) != 33 {
			t.Fatalf("share of %d bytes, want 33", len(s))
		}
	}
	// Every 3- and 4-subset recovers the secret; every 2-subset does not.
	for mask := 1; mask < 1<<5; mask++ {
		var subset [][]byte
		for i := range 5 {
			if mask&(1<<i) != 0 {
				subset = append(subset, shares[i])
			}
		}
		if len(subset) < 2 {
			continue
		}
		got, err := Combine(subset)
		if err != nil {
			t.Fatal(err)
		}
		if ok := bytes.Equal(got, secret); ok != (len(subset) >= 3) {
			t.Fatalf("%d shares: recovered=%v", len(subset), ok)
		}
	}
}

func TestFieldArithmetic(t *testing.T) {
	for a := 1; a < 256; a++ {
		for b := 1; b < 256; b++ {
			if mul(byte(a), byte(b)) != mulSlow(byte(a), byte(b)) {
				t.Fatalf("mul(%d,%d)", a, b)
			}
			if div(mul(byte(a), byte(b)), byte(b)) != byte(a) {
				t.Fatalf("div(mul(%d,%d),%d)", a, b, b)
			}
		}
	}
}

func TestBadInput(t *testing.T) {
	for _, c := range []struct{ parts, threshold int }{{0, 0}, {3, 4}, {256, 2}, {3, 1}, {3, 0}} {
		if _, err := Split([]byte("x"), c.parts, c.threshold); err == nil {
			t.Errorf("Split(%d, %d) accepted", c.parts, c.threshold)
		}
	}
	if _, err := Split(nil, 3, 2); err == nil {
		t.Error("empty secret accepted")
	}
	shares, _ := Split([]byte("secret"), 3, 2)
	if _, err := Combine([][]byte{shares[0], shares[0]}); err == nil {
		t.Error("duplicate shares accepted")
	}
	if _, err := Combine([][]byte{shares[0], shares[1][:3]}); err == nil {
		t.Error("shares of different length accepted")
	}
	if _, err := Combine([][]byte{shares[0]}); err == nil {
		t.Error("one share accepted")
	}
	if s, err := Split([]byte("k"), 1, 1); err != nil || len(s) != 1 {
		t.Errorf("1-of-1: %v", err)
	}
}

func FuzzCombine(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{4, 5, 6})
	f.Add([]byte{}, []byte{0})
	f.Fuzz(func(t *testing.T, a, b []byte) {
		_, _ = Combine([][]byte{a, b})
	})
}
