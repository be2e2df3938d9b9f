package ec2

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// KeyTag is the tag that names the workflow step a resource was made for;
// a step run again finds its resource by it (or by the client token).
const KeyTag = "stratum:key"

// Provider is the aws provider.
type Provider struct {
	c *Client
	// Poll is the wait between two reads of a resource's state (default 2s).
	Poll time.Duration
}

// New returns an aws provider over c.
func New(c *Client, poll time.Duration) *Provider {
	if poll <= 0 {
		poll = 2 * time.Second
	}
	return &Provider{c: c, Poll: poll}
}

// Create makes t's resource for key, or returns the one key already has.
func (p *Provider) Create(ctx context.Context, key string, t provisioning.PreparedTask, deps map[string]provisioning.Resource) (provisioning.Resource, error) {
	var (
		r   provisioning.Resource
		err error
	)
	switch t.Kind {
	case provisioning.KindServer:
		r, err = p.createInstance(ctx, key, t, deps)
	case provisioning.KindNetwork:
		r, err = p.createNetwork(ctx, key, t)
	case provisioning.KindStorage:
		r, err = p.createVolume(ctx, key, t, deps)
	default:
		err = provisioning.Permanent(fmt.Errorf("aws provider does not provision %s", t.Kind))
	}
	return r, classify(err)
}

// Read reports whether r still exists.
func (p *Provider) Read(ctx context.Context, r provisioning.Resource) (bool, error) {
	var (
		state string
		err   error
	)
	switch r.Kind {
	case provisioning.KindServer:
		var in instance
		in, err = p.describeInstance(ctx, r.ID)
		state = in.State.Name
	case provisioning.KindNetwork:
		state, err = p.vpcState(ctx, r.ID)
	case provisioning.KindStorage:
		var v volume
		v, err = p.describeVolume(ctx, r.ID)
		state = v.State
	}
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return state != "" && state != "terminated" && state != "shutting-down" && state != "deleting" && state != "deleted", nil
}

// Delete removes r and waits until it is gone; what is gone already is fine.
func (p *Provider) Delete(ctx context.Context, r provisioning.Resource) error {
	switch r.Kind {
	case provisioning.KindServer:
		return p.deleteServer(ctx, r)
	case provisioning.KindNetwork:
		return p.deleteNetwork(ctx, r)
	case provisioning.KindStorage:
		return p.deleteVolume(ctx, r)
	}
	return fmt.Errorf("aws provider does not provision %s", r.Kind)
}

// classify makes an API error no retry fixes permanent.
func classify(err error) error {
	var ae *APIError
	if errors.As(err, &ae) && !ae.Transient() && !provisioning.IsPermanent(err) {
		return provisioning.Permanent(err)
	}
	return err
}

func isNotFound(err error) bool {
	switch Code(err) {
	case "InvalidInstanceID.NotFound", "InvalidVpcID.NotFound", "InvalidSubnetID.NotFound", "InvalidVolume.NotFound",
		"InvalidGroup.NotFound":
		return true
	}
	return false
}

// clientToken is the idempotency token of key: at most 64 ASCII characters.
func clientToken(key string) string {
	sum := sha256.Sum256([]byte(key))
	return "stratum-" + hex.EncodeToString(sum[:24])
}

// wait reads a state with read until it is one of want, or fails when it
// is one of bad or ctx ends. A resource EC2 does not show yet (eventual
// consistency) and throttling are read again.
func (p *Provider) wait(ctx context.Context, what string, read func() (string, error), bad []string, want ...string) error {
	for {
		state, err := read()
		var ae *APIError
		switch {
		case err == nil && slices.Contains(want, state):
			return nil
		case err == nil && slices.Contains(bad, state):
			return fmt.Errorf("%s is %s", what, state)
		case err != nil && !isNotFound(err) && !(errors.As(err, &ae) && ae.Transient()):
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s to be %v (last %q): %w", what, want, state, ctx.Err())
		case <-time.After(p.Poll):
		}
	}
}

func resource(id, kind string, attrs map[string]string) provisioning.Resource {
	return provisioning.Resource{ID: id, Kind: kind, Provider: provisioning.ProviderAWS, Attrs: attrs}
}

func keyTags(key, name string, own map[string]string) map[string]string {
	t := map[string]string{KeyTag: key, "Name": name}
	for k, v := range own {
		t[k] = v
	}
	return t
}
