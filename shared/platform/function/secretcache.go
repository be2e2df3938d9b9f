package function

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// DefaultSecretsTTL is how long a function trusts a secret it read before
// reading it again at its next SurrealDB sign-in (SECRETS_TTL overrides).
const DefaultSecretsTTL = 5 * time.Minute

// secretCache keeps one secret's fields for ttl; read fetches them.
type secretCache struct {
	read func(ctx context.Context) (map[string]string, error)
	ttl  time.Duration
	now  func() time.Time

	mu     sync.Mutex
	at     time.Time
	values map[string]string
}

// get returns the cached fields, read again once ttl has passed or when
// refresh asks (a sign-in refused with the cached password).
func (c *secretCache) get(ctx context.Context, refresh bool) (map[string]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.values != nil && !refresh && c.now().Sub(c.at) < c.ttl {
		return c.values, nil
	}
	v, err := c.read(ctx)
	if err != nil {
		return nil, err
	}
	c.values, c.at = v, c.now()
	return v, nil
}

// rotatingSurreal makes cfg sign in with the user and password of the
// SURREAL_SECRET_ARN secret, cached for SECRETS_TTL: after a rotation
// (README, deploy runbook) new connections use the new password without a
// cold start; seed is what the cold start read.
func rotatingSurreal(cfg surreal.Config, seed map[string]string) surreal.Config {
	arn := os.Getenv("SURREAL_SECRET_ARN")
	if arn == "" {
		return cfg
	}
	ttl, err := time.ParseDuration(os.Getenv("SECRETS_TTL"))
	if err != nil || ttl <= 0 {
		ttl = DefaultSecretsTTL
	}
	cache := &secretCache{ttl: ttl, now: time.Now, values: seed, at: time.Now(),
		read: func(ctx context.Context) (map[string]string, error) { return readSecret(ctx, arn) }}
	cfg.Credentials = func(ctx context.Context, refresh bool) (string, string, error) {
		v, err := cache.get(ctx, refresh)
		if err != nil {
			return "", "", err
		}
		return v["user"], v["pass"], nil
	}
	return cfg
}
