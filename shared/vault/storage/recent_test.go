package storage

import (
	"context"
	"testing"
	"time"
)

func TestRecentKeepsValuesForReadTTL(t *testing.T) {
	var c Recent[string, int]
	if _, ok := c.Get("a"); ok {
		t.Fatal("an empty cache had a value")
	}
	c.Put("a", 1)
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("fresh value: %v %v", v, ok)
	}
	c.Clear()
	if _, ok := c.Get("a"); ok {
		t.Fatal("a cleared value was kept")
	}
	c.Put("b", 2)
	start := time.Now()
	Settle(context.Background())
	if waited := time.Since(start); waited < ReadTTL {
		t.Fatalf("Settle returned after %s, before ReadTTL", waited)
	}
	if _, ok := c.Get("b"); ok {
		t.Fatal("a value outlived ReadTTL")
	}
	// Past maxRecent entries, stale ones make room.
	for i := range maxRecent {
		c.Put(string(rune(i)), i)
	}
	time.Sleep(ReadTTL)
	c.Put("new", 1)
	if n := len(c.entries); n != 1 {
		t.Fatalf("%d entries kept after the stale ones were dropped", n)
	}
}
