package local

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// createStorage makes a directory whose size is checked first: at most the
// provider's quota and the free space of its file system. A volume attached
// to a server is linked into the server's data directory.
func (p *Provider) createStorage(key string, s provisioning.StorageSpec, deps map[string]provisioning.Resource) (provisioning.Resource, error) {
	if s.SizeGB > p.cfg.MaxStorageGB {
		return provisioning.Resource{}, fmt.Errorf("storage %s: %d GB is over the local quota of %d GB", key, s.SizeGB, p.cfg.MaxStorageGB)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(p.cfg.Dir, &st); err == nil {
		if free := st.Bavail * uint64(st.Bsize); uint64(s.SizeGB)<<30 > free {
			return provisioning.Resource{}, fmt.Errorf("storage %s: %d GB asked, %d GB free", key, s.SizeGB, free>>30)
		}
	}
	path := filepath.Join(p.cfg.Dir, "storage", key)
	if err := os.MkdirAll(path, 0o755); err != nil {
		return provisioning.Resource{}, fmt.Errorf("storage %s: %w", key, err)
	}
	if err := os.WriteFile(filepath.Join(path, ".size_gb"), []byte(strconv.Itoa(s.SizeGB)), 0o644); err != nil {
		return provisioning.Resource{}, fmt.Errorf("storage %s: %w", key, err)
	}
	attrs := map[string]string{"size_gb": strconv.Itoa(s.SizeGB), "type": s.Type}
	if srv, ok := deps[s.AttachTo]; ok && s.AttachTo != "" {
		link := filepath.Join(srv.Attrs["data_dir"], "volume-"+key)
		if _, err := os.Lstat(link); os.IsNotExist(err) {
			if err := os.Symlink(path, link); err != nil {
				return provisioning.Resource{}, fmt.Errorf("storage %s: attach to %s: %w", key, srv.ID, err)
			}
		}
		attrs["attached_to"] = srv.ID
	}
	return resource(key, provisioning.KindStorage, path, attrs), nil
}
