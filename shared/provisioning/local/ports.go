package local

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// claimPort reserves port for owner: a file ports/<port> created exclusively
// holds the owner's key, so two instances can never hold one port, and the
// owner finds its own reservation again after a crash.
func (p *Provider) claimPort(dir string, port int, owner string) bool {
	path := filepath.Join(p.cfg.Dir, dir, strconv.Itoa(port))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err == nil {
		_, werr := f.WriteString(owner)
		cerr := f.Close()
		return werr == nil && cerr == nil
	}
	held, rerr := os.ReadFile(path)
	return errors.Is(err, fs.ErrExist) && rerr == nil && string(held) == owner
}

// releasePorts drops every reservation held by owner.
func (p *Provider) releasePorts(owner string) {
	for _, dir := range []string{"ports", "ports/used"} {
		entries, _ := os.ReadDir(filepath.Join(p.cfg.Dir, dir))
		for _, e := range entries {
			path := filepath.Join(p.cfg.Dir, dir, e.Name())
			if held, err := os.ReadFile(path); err == nil && !e.IsDir() && string(held) == owner {
				_ = os.Remove(path)
			}
		}
	}
}

// createNetwork reserves a range of s.Ports consecutive ports.
func (p *Provider) createNetwork(key string, s provisioning.NetworkSpec) (provisioning.Resource, error) {
	path := filepath.Join(p.cfg.Dir, "networks", key)
	for start := p.cfg.PortLow; start+s.Ports-1 <= p.cfg.PortHigh; start += s.Ports {
		var got []int
		for port := start; port < start+s.Ports; port++ {
			if !p.claimPort("ports", port, key) {
				break
			}
			got = append(got, port)
		}
		if len(got) < s.Ports {
			for _, port := range got {
				if held, _ := os.ReadFile(filepath.Join(p.cfg.Dir, "ports", strconv.Itoa(port))); string(held) == key {
					_ = os.Remove(filepath.Join(p.cfg.Dir, "ports", strconv.Itoa(port)))
				}
			}
			continue
		}
		rng := fmt.Sprintf("%d-%d", start, start+s.Ports-1)
		if err := os.MkdirAll(path, 0o755); err != nil {
			return provisioning.Resource{}, fmt.Errorf("network %s: %w", key, err)
		}
		if err := os.WriteFile(filepath.Join(path, "range"), []byte(rng), 0o644); err != nil {
			return provisioning.Resource{}, fmt.Errorf("network %s: %w", key, err)
		}
		return resource(key, provisioning.KindNetwork, path, map[string]string{"ports": rng, "cidr": s.CIDR}), nil
	}
	return provisioning.Resource{}, fmt.Errorf("network %s: no %d free consecutive ports in %d-%d",
		key, s.Ports, p.cfg.PortLow, p.cfg.PortHigh)
}

// portFor picks the process's port: the first of its network's range that
// it can claim (its own after a crash), else the given port, else a free one.
func (p *Provider) portFor(key string, want int, deps map[string]provisioning.Resource) (int, error) {
	if want > 0 {
		return want, nil
	}
	for _, r := range deps {
		if r.Kind != provisioning.KindNetwork {
			continue
		}
		lo, hi, ok := strings.Cut(r.Attrs["ports"], "-")
		if !ok {
			continue
		}
		a, _ := strconv.Atoi(lo)
		b, _ := strconv.Atoi(hi)
		for port := a; port <= b; port++ {
			if p.claimPort("ports/used", port, key) {
				if bindable(port) {
					return port, nil
				}
				_ = os.Remove(filepath.Join(p.cfg.Dir, "ports/used", strconv.Itoa(port))) // another program's port
			}
		}
		return 0, fmt.Errorf("network %s has no free port left in %s", r.ID, r.Attrs["ports"])
	}
	return freePort()
}

// bindable reports whether nothing listens on port.
func bindable(port int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	_ = l.Close()
	return true
}
