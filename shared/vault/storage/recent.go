package storage

import (
	"context"
	"sync"
	"time"
)

// ReadTTL bounds how stale the state a request relies on may be when another
// instance changed it: the seal, the mounts and audit devices, a token, the
// policies, a transit key. Within it an instance answers from memory instead
// of asking SurrealDB on every request; an instance sees its own changes at
// once. (Vault's performance standbys make the same trade, with replication
// lag for a bound.)
const ReadTTL = 250 * time.Millisecond

// maxRecent bounds a Recent cache: past it, stale entries are dropped.
const maxRecent = 10_000

// Recent keeps values read from SurrealDB for up to ReadTTL. The zero value
// is ready to use.
type Recent[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]recentEntry[V]
}

type recentEntry[V any] struct {
	v  V
	at time.Time
}

// Get returns the value kept under k if it was read within ReadTTL.
func (c *Recent[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || time.Since(e.at) >= ReadTTL {
		var zero V
		return zero, false
	}
	return e.v, true
}

// Put keeps v under k as read now.
func (c *Recent[K, V]) Put(k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[K]recentEntry[V]{}
	}
	if len(c.entries) >= maxRecent {
		for key, e := range c.entries {
			if time.Since(e.at) >= ReadTTL {
				delete(c.entries, key)
			}
		}
	}
	c.entries[k] = recentEntry[V]{v: v, at: time.Now()}
}

// Clear forgets everything: this instance changed what the values were read from.
func (c *Recent[K, V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.entries)
}

// Settle waits out ReadTTL after a change that must hold everywhere by the
// time its caller hears of it (a seal, a mount, an audit device, a policy, a
// revoked token, a rotated key): then no instance still answers from what it
// read before the change. Such changes are rare; the requests that rely on
// them are not.
func Settle(ctx context.Context) {
	t := time.NewTimer(ReadTTL)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
