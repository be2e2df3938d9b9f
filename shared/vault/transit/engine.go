package transit

import (
	"context"
	"regexp"
	"sync"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// Engine serves transit mounts inside vault-crypto. Keys are stored sealed
// by the barrier at logical/<mount uuid>/policy/<name>; each instance keeps
// the keys it has opened. A change to a key checks its revision first; the
// operations that use a key (encrypt, sign…) rely on a revision confirmed
// within storage.ReadTTL, so a rotation by another instance is seen within it.
type Engine struct {
	st *storage.Store

	mu    sync.Mutex
	cache map[string]cachedPolicy
}

type cachedPolicy struct {
	rev     int
	p       *Policy
	checked time.Time // when rev was last confirmed against storage
}

// New returns a transit engine over st (sealed by the keeper itself).
func New(st *storage.Store) *Engine { return &Engine{st: st, cache: map[string]cachedPolicy{}} }

// Forget drops every cached key (keeper.Forgetter): the seal generation
// changed, and storage may hold other keys under the same revisions.
func (e *Engine) Forget() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.cache)
}

// keyName is Vault's generic name: word characters, dots and dashes.
var keyName = regexp.MustCompile(`^\w([\w.-]*\w)?$`)

func policyPath(mount, name string) string { return "logical/" + mount + "/policy/" + name }

// load returns the key at path, from the cache when its revision is current;
// nil when there is none.
func (e *Engine) load(ctx context.Context, path string) (*Policy, int, error) {
	rev, err := e.st.Revision(ctx, path)
	if err != nil || rev == 0 {
		return nil, 0, err
	}
	e.mu.Lock()
	c, ok := e.cache[path]
	if ok && c.rev == rev {
		c.checked = time.Now()
		e.cache[path] = c
	}
	e.mu.Unlock()
	if ok && c.rev == rev {
		return c.p, rev, nil
	}
	p := &Policy{}
	rev, err = e.st.GetJSON(ctx, path, p)
	if err != nil || rev == 0 {
		return nil, 0, err
	}
	e.remember(path, rev, p)
	return p, rev, nil
}

func (e *Engine) remember(path string, rev int, p *Policy) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p == nil {
		delete(e.cache, path)
		return
	}
	e.cache[path] = cachedPolicy{rev: rev, p: p, checked: time.Now()}
}

// recent is load for the operations that use a key: a key whose revision
// was confirmed within storage.ReadTTL is used as it is.
func (e *Engine) recent(ctx context.Context, path string) (*Policy, error) {
	e.mu.Lock()
	c, ok := e.cache[path]
	e.mu.Unlock()
	if ok && time.Since(c.checked) < storage.ReadTTL {
		return c.p, nil
	}
	p, _, err := e.load(ctx, path)
	return p, err
}

// save writes p conditionally on rev (0 creates); a lost race is ErrConflict.
func (e *Engine) save(ctx context.Context, path string, p *Policy, rev int) error {
	if err := e.st.PutJSON(ctx, path, p, rev); err != nil {
		e.remember(path, 0, nil)
		return err
	}
	e.remember(path, rev+1, p)
	if rev > 0 { // a changed key (a new one was cached nowhere)
		storage.Settle(ctx)
	}
	return nil
}
