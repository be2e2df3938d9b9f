package bus_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
)

// Increments guarded by a lock are never lost, however many goroutines race.
func TestLocksSerialize(t *testing.T) {
	b, _ := setup(t)
	ctx := context.Background()
	locks, err := b.Locks(ctx, "test-locks", 5*time.Second, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	counter, inside := 0, 0
	var mu sync.Mutex // only to let the race detector see the lock's effect
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				release, err := locks.Acquire(ctx, "column/a b", "column/c")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				inside++
				if inside != 1 {
					t.Error("two holders at once")
				}
				v := counter
				mu.Unlock()
				time.Sleep(100 * time.Microsecond)
				mu.Lock()
				counter = v + 1
				inside--
				mu.Unlock()
				release()
			}
		}()
	}
	wg.Wait()
	if counter != 200 {
		t.Fatalf("counter %d, want 200", counter)
	}
	// A held lock makes a second caller give up after its wait.
	short, _ := b.Locks(ctx, "test-locks", 5*time.Second, 50*time.Millisecond)
	release, err := short.Acquire(ctx, "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := short.Acquire(ctx, "x"); !errors.Is(err, bus.ErrLockTimeout) {
		t.Fatalf("second acquire: %v", err)
	}
	release()
	if r, err := short.Acquire(ctx, "x"); err != nil {
		t.Fatalf("after release: %v", err)
	} else {
		r()
	}
}
