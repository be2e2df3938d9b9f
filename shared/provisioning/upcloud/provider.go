package upcloud

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"time"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// KeyLabel is the label naming the workflow step a resource was made for.
const KeyLabel = "stratum_key"

// Provider is the upcloud provider.
type Provider struct {
	c    *Client
	zone string
	// Poll is the wait between two reads of a resource's state (default 3s).
	Poll time.Duration
}

// New returns an upcloud provider over c in zone (default fi-hel1).
func New(c *Client, zone string, poll time.Duration) *Provider {
	if zone == "" {
		zone = "fi-hel1"
	}
	if poll <= 0 {
		poll = 3 * time.Second
	}
	return &Provider{c: c, zone: zone, Poll: poll}
}

// Create makes t's resource for key, or returns the one key already has.
func (p *Provider) Create(ctx context.Context, key string, t provisioning.PreparedTask, deps map[string]provisioning.Resource) (provisioning.Resource, error) {
	var (
		r   provisioning.Resource
		err error
	)
	switch t.Kind {
	case provisioning.KindServer:
		r, err = p.createServer(ctx, key, t, deps)
	case provisioning.KindNetwork:
		r, err = p.createNetwork(ctx, key, t)
	case provisioning.KindStorage:
		r, err = p.createStorage(ctx, key, t, deps)
	default:
		err = provisioning.Permanent(fmt.Errorf("upcloud provider does not provision %s", t.Kind))
	}
	var ae *APIError
	if errors.As(err, &ae) && !ae.Transient() && !provisioning.IsPermanent(err) {
		err = provisioning.Permanent(err)
	}
	return r, err
}

// Read reports whether r still exists.
func (p *Provider) Read(ctx context.Context, r provisioning.Resource) (bool, error) {
	var err error
	switch r.Kind {
	case provisioning.KindServer:
		_, err = p.server(ctx, r.ID)
	case provisioning.KindNetwork:
		err = p.c.Do(ctx, "GET", "/1.3/network/"+url.PathEscape(r.ID), nil, nil)
	case provisioning.KindStorage:
		_, err = p.storage(ctx, r.ID)
	}
	if NotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// Delete removes r and waits until it is gone; what is gone already is fine.
func (p *Provider) Delete(ctx context.Context, r provisioning.Resource) error {
	var err error
	switch r.Kind {
	case provisioning.KindServer:
		err = p.deleteServer(ctx, r.ID)
	case provisioning.KindNetwork:
		err = p.retry(ctx, func() error { return p.c.Do(ctx, "DELETE", "/1.3/network/"+url.PathEscape(r.ID), nil, nil) })
	case provisioning.KindStorage:
		err = p.deleteStorage(ctx, r)
	default:
		return fmt.Errorf("upcloud provider does not provision %s", r.Kind)
	}
	if NotFound(err) {
		return nil
	}
	return err
}

// wait reads a state until it is one of want; transient errors are read again.
func (p *Provider) wait(ctx context.Context, what string, read func() (string, error), want ...string) error {
	last := ""
	for {
		state, err := read()
		var ae *APIError
		switch {
		case err == nil && slices.Contains(want, state):
			return nil
		case err != nil && !(errors.As(err, &ae) && ae.Transient()):
			return err
		}
		last = state
		if err := p.sleep(ctx); err != nil {
			return fmt.Errorf("waiting for %s to be %v (last %q): %w", what, want, last, err)
		}
	}
}

// retry calls f again while it fails with a transient error.
func (p *Provider) retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		var ae *APIError
		if err == nil || !errors.As(err, &ae) || !ae.Transient() {
			return err
		}
		if serr := p.sleep(ctx); serr != nil {
			return fmt.Errorf("%w (gave up: %v)", err, serr)
		}
	}
}

func (p *Provider) sleep(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(p.Poll):
		return nil
	}
}

// keyValue is the label value of key: UpCloud's label values are short, so
// the key is hashed.
func keyValue(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:20])
}

func withKey(key string, own map[string]string) *labels {
	l := toLabels(own)
	l.Label = append(l.Label, label{KeyLabel, keyValue(key)})
	return l
}

func hasKey(l *labels, key string) bool {
	return l != nil && slices.Contains(l.Label, label{KeyLabel, keyValue(key)})
}

func resource(id, kind string, attrs map[string]string) provisioning.Resource {
	return provisioning.Resource{ID: id, Kind: kind, Provider: provisioning.ProviderUpCloud, Attrs: attrs}
}
