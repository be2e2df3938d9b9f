package bus

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Locks are mutual-exclusion locks in a JetStream key-value bucket. They
// serialize read-modify-write sequences across Lambda instances where
// SurrealDB 3.0.2's transactions do not: seen here, concurrent transactions
// that each read a value and conditionally update it all commit, and some
// updates are lost. A key's creation is atomic in JetStream (it expects no
// previous revision); a lock left by a crashed holder expires with the
// bucket's TTL.
type Locks struct {
	kv   jetstream.KeyValue
	wait time.Duration
}

// ErrLockTimeout means a lock stayed taken for longer than the caller may wait.
var ErrLockTimeout = errors.New("lock busy")

// Locks opens (creating if needed) the lock bucket; ttl bounds how long a
// crashed holder keeps a lock, wait how long Acquire tries.
func (b *Bus) Locks(ctx context.Context, bucket string, ttl, wait time.Duration) (*Locks, error) {
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: bucket, TTL: ttl, History: 1,
		Storage: jetstream.MemoryStorage})
	if err != nil {
		return nil, fmt.Errorf("lock bucket %s: %w", bucket, err)
	}
	return &Locks{kv: kv, wait: wait}, nil
}

// Acquire takes the locks on keys (in sorted order, so that two callers
// never deadlock) and returns the function that releases them.
func (l *Locks) Acquire(ctx context.Context, keys ...string) (func(), error) {
	keys = append([]string(nil), keys...)
	sort.Strings(keys)
	var held []heldLock
	release := func() {
		for _, h := range held {
			// Only our own revision: never a lock that expired and was taken again.
			_ = l.kv.Delete(context.WithoutCancel(ctx), h.key, jetstream.LastRevision(h.rev))
		}
	}
	deadline := time.Now().Add(l.wait)
	for i, key := range keys {
		if i > 0 && key == keys[i-1] {
			continue
		}
		k := lockKey(key)
		for backoff := time.Millisecond; ; backoff = min(2*backoff, 20*time.Millisecond) {
			rev, err := l.kv.Create(ctx, k, []byte(time.Now().UTC().Format(time.RFC3339Nano)))
			if err == nil {
				held = append(held, heldLock{key: k, rev: rev})
				break
			}
			if !errors.Is(err, jetstream.ErrKeyExists) {
				release()
				return nil, fmt.Errorf("lock %s: %w", key, err)
			}
			if time.Now().After(deadline) {
				release()
				return nil, fmt.Errorf("lock %s: %w", key, ErrLockTimeout)
			}
			select {
			case <-ctx.Done():
				release()
				return nil, ctx.Err()
			case <-time.After(backoff):
			}
		}
	}
	return release, nil
}

type heldLock struct {
	key string
	rev uint64
}

// lockKey maps any string to a valid KV key (letters, digits, -_/=.).
func lockKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			fmt.Fprintf(&b, "=%04x", r)
		}
	}
	return b.String()
}
