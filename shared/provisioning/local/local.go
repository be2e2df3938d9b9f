// Package local is Provisioning's local provider: real work on this machine,
// so that tests can watch it. A server or a service is a supervised process
// (the small HTTP service of Serve) with its own data directory and port, a
// network is a range of ports reserved under the provider's directory, and
// storage is a directory whose size is checked against a quota and the free
// space. Delete stops and removes them.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// Config says where the provider works.
type Config struct {
	// Dir holds every resource: networks/, ports/ (reservations; ports/used/ the
	// ports of a range that a process took), servers/, services/, storage/.
	Dir string
	// PortLow and PortHigh bound the ports networks reserve.
	PortLow, PortHigh int
	// MaxStorageGB is the quota of one storage task.
	MaxStorageGB int
	// ServerCommand starts the HTTP service of a server or service; the
	// provider appends --dir <data dir> --port <port>.
	ServerCommand []string
	// ServerEnv is added to the process's environment.
	ServerEnv []string
	// StartTimeout bounds the wait for a new process's health (default 10s).
	StartTimeout time.Duration
}

// Provider is the local provider.
type Provider struct{ cfg Config }

// New returns a local provider over cfg.
func New(cfg Config) (*Provider, error) {
	if cfg.Dir == "" || len(cfg.ServerCommand) == 0 {
		return nil, errors.New("local provider: Dir and ServerCommand are required")
	}
	if cfg.PortLow == 0 {
		cfg.PortLow, cfg.PortHigh = 20000, 29999
	}
	if cfg.PortHigh < cfg.PortLow {
		return nil, fmt.Errorf("local provider: port range %d-%d is empty", cfg.PortLow, cfg.PortHigh)
	}
	if cfg.MaxStorageGB == 0 {
		cfg.MaxStorageGB = 10
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 10 * time.Second
	}
	for _, d := range []string{"networks", "ports", "ports/used", "servers", "services", "storage"} {
		if err := os.MkdirAll(filepath.Join(cfg.Dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("local provider: %w", err)
		}
	}
	return &Provider{cfg: cfg}, nil
}

// Create makes t's resource under key, or returns the one key already has.
func (p *Provider) Create(ctx context.Context, key string, t provisioning.PreparedTask, deps map[string]provisioning.Resource) (provisioning.Resource, error) {
	key = safeKey(key)
	switch t.Kind {
	case provisioning.KindNetwork:
		var s provisioning.NetworkSpec
		_ = json.Unmarshal(t.Spec, &s)
		return p.createNetwork(key, s)
	case provisioning.KindServer, provisioning.KindService:
		return p.createProcess(ctx, key, t, deps)
	case provisioning.KindStorage:
		var s provisioning.StorageSpec
		_ = json.Unmarshal(t.Spec, &s)
		return p.createStorage(key, s, deps)
	}
	return provisioning.Resource{}, provisioning.Permanent(fmt.Errorf("local provider does not provision %s", t.Kind))
}

// Read reports whether r exists (for a process: whether it answers).
func (p *Provider) Read(ctx context.Context, r provisioning.Resource) (bool, error) {
	switch r.Kind {
	case provisioning.KindServer, provisioning.KindService:
		return healthy(ctx, r.Attrs["port"]), nil
	default:
		_, err := os.Stat(r.Attrs["path"])
		return err == nil, nil
	}
}

// Delete stops and removes r.
func (p *Provider) Delete(ctx context.Context, r provisioning.Resource) error {
	switch r.Kind {
	case provisioning.KindServer, provisioning.KindService:
		if err := stop(r.Attrs["path"]); err != nil {
			return err
		}
		p.releasePorts(r.ID)
	case provisioning.KindNetwork:
		p.releasePorts(r.ID)
	}
	if err := os.RemoveAll(r.Attrs["path"]); err != nil {
		return fmt.Errorf("remove %s: %w", r.Attrs["path"], err)
	}
	return nil
}

func safeKey(key string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == os.PathSeparator || r == ':' {
			return '_'
		}
		return r
	}, key)
}

func resource(key, kind, path string, attrs map[string]string) provisioning.Resource {
	attrs["path"] = path
	return provisioning.Resource{ID: key, Kind: kind, Provider: provisioning.ProviderLocal, Attrs: attrs}
}
