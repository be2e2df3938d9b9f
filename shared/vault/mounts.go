package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/integrity"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// Mount is a secrets engine mounted at a path ("secret/").
type Mount struct {
	Path        string            `json:"path"`
	Type        string            `json:"type"`
	Description string            `json:"description"`
	Accessor    string            `json:"accessor"`
	UUID        string            `json:"uuid"`
	Options     map[string]string `json:"options"`
	Config      mountConfig       `json:"config"`
	MAC         string            `json:"mac,omitempty"` // see mount_mac.go
}

// mountConfig is what sys/mounts/<path>/tune sets, in seconds (0: the system default).
type mountConfig struct {
	DefaultLeaseTTL int64 `json:"default_lease_ttl"`
	MaxLeaseTTL     int64 `json:"max_lease_ttl"`
}

// kvVersion is 2 for a KV v2 mount, 1 for KV v1.
func (m Mount) kvVersion() int {
	if m.Options["version"] == "2" {
		return 2
	}
	return 1
}

// storagePrefix is where the mount's entries live: by UUID, so a remount
// never sees an older mount's data.
func (m Mount) storagePrefix() string { return "logical/" + m.UUID + "/" }

func recordID(table, key string) models.RecordID { return models.NewRecordID(table, key) }

var mountPath = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)*/$`)

// reserved paths belong to the vault itself.
var reserved = []string{"sys/", "auth/", "cubbyhole/", "identity/"}

// supportedEngines are the types `sys/mounts` accepts.
var supportedEngines = map[string]bool{"kv": true, "kv-v2": true, "transit": true, "pki": true, "database": true}

type mounts struct {
	db   *surreal.Client
	keys *integrity.Keys // MACs mount records
}

// snapshot is the configuration a request is served with: the mounts and the
// audit devices, read together once per request.
type snapshot struct {
	Mounts  []Mount
	Devices []auditDevice
	Seal    struct {
		Initialized bool `json:"initialized"`
		Unsealed    bool `json:"unsealed"`
		Generation  int  `json:"generation"`
	}
	// checkedWith is the MAC key the mounts were found intact with: a
	// snapshot kept in memory serves many requests, and its records do not
	// change, so each key checks them once.
	checkedWith atomic.Pointer[[]byte]
}

type snapshotKey struct{}

// withSnapshot stores the snapshot, and the seal generation it saw for vault-crypto.
func withSnapshot(ctx context.Context, s *snapshot) context.Context {
	if s.Seal.Unsealed {
		ctx = keeper.WithGeneration(ctx, s.Seal.Generation)
	}
	return context.WithValue(ctx, snapshotKey{}, s)
}

// sealedNow reports a sealed vault from the request's snapshot, without a round trip.
func sealedNow(ctx context.Context) bool {
	snap, ok := ctx.Value(snapshotKey{}).(*snapshot)
	return ok && !snap.Seal.Unsealed
}

// loadSnapshot reads the mounts, audit devices and seal state in one round
// trip, or takes them from memory if an unsealed vault's were read within
// storage.ReadTTL (a sealed one is read every time, so an unseal shows at once).
func (s *Server) loadSnapshot(ctx context.Context) (*snapshot, error) {
	if snap, ok := s.snapshots.Get(struct{}{}); ok {
		return snap, nil
	}
	both, err := surreal.QueryAll[any](ctx, s.mounts.db, `SELECT * OMIT id FROM mounts;
SELECT path, type, description FROM audit_device;
RETURN { initialized: record::exists(seal:config), unsealed: seal:config.wrapped_root != NONE, generation: seal:config.generation ?? 0 };`, nil)
	if err != nil {
		return nil, fmt.Errorf("read mounts and audit devices: %w", err)
	}
	// Two result types in one round trip: each is re-read through JSON.
	snap := &snapshot{}
	for i, dst := range []any{&snap.Mounts, &snap.Devices, &snap.Seal} {
		raw, _ := json.Marshal(both[i])
		if err := json.Unmarshal(raw, dst); err != nil {
			return nil, fmt.Errorf("decode mounts and audit devices: %w", err)
		}
	}
	if snap.Seal.Unsealed {
		s.snapshots.Put(struct{}{}, snap)
	}
	return snap, nil
}

// all returns the mounts of the request's snapshot, or reads them.
func (ms *mounts) all(ctx context.Context) ([]Mount, error) {
	if snap, ok := ctx.Value(snapshotKey{}).(*snapshot); ok {
		return snap.Mounts, ms.checkSnapshot(ctx, snap)
	}
	return ms.read(ctx)
}

// read reads the mounts from SurrealDB, never from a snapshot.
func (ms *mounts) read(ctx context.Context) ([]Mount, error) {
	list, err := surreal.Query[[]Mount](ctx, ms.db, "SELECT * OMIT id FROM mounts", nil)
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	return list, ms.check(ctx, list)
}

// find returns the mount with the longest path that prefixes path.
func (ms *mounts) find(ctx context.Context, path string) (Mount, string, bool, error) {
	list, err := ms.all(ctx)
	if err != nil {
		return Mount{}, "", false, err
	}
	list = slices.Clone(list) // a snapshot's list is shared by concurrent requests
	sort.Slice(list, func(i, j int) bool { return len(list[i].Path) > len(list[j].Path) })
	for _, m := range list {
		if strings.HasPrefix(path+"/", m.Path) {
			return m, strings.TrimPrefix(strings.TrimPrefix(path, strings.TrimSuffix(m.Path, "/")), "/"), true, nil
		}
	}
	return Mount{}, "", false, nil
}

type mountRequest struct {
	Type        string            `json:"type"`
	Description string            `json:"description"`
	Options     map[string]string `json:"options"`
}

func (ms *mounts) mount(ctx context.Context, path string, req mountRequest) error {
	path = strings.Trim(path, "/") + "/"
	if !mountPath.MatchString(path) {
		return badRequest("invalid mount path %q", path)
	}
	for _, r := range reserved {
		if strings.HasPrefix(path, r) {
			return badRequest("cannot mount under reserved path %q", r)
		}
	}
	if req.Type == "kv-v2" {
		req.Type = "kv"
		if req.Options == nil {
			req.Options = map[string]string{}
		}
		req.Options["version"] = "2"
	}
	if !supportedEngines[req.Type] {
		return badRequest("plugin not found in the catalog: %s", req.Type)
	}
	if req.Options == nil {
		req.Options = map[string]string{}
	}
	if req.Type == "kv" {
		if v, ok := req.Options["version"]; ok && v != "1" && v != "2" {
			return badRequest("invalid kv version %q: want 1 or 2", v)
		}
		if req.Options["version"] == "" {
			req.Options["version"] = "1"
		}
	}
	list, err := ms.read(ctx) // what other instances mounted a moment ago counts too
	if err != nil {
		return err
	}
	for _, m := range list {
		if strings.HasPrefix(path, m.Path) || strings.HasPrefix(m.Path, path) {
			return badRequest("path is already in use at %s", m.Path)
		}
	}
	m := Mount{Path: path, Type: req.Type, Description: req.Description, Options: req.Options,
		Accessor: req.Type + "_" + keeper.NewUUID()[:8], UUID: keeper.NewUUID()}
	if err := ms.seal(ctx, &m); err != nil {
		return err
	}
	_, err = surreal.Query[any](ctx, ms.db, "CREATE $id CONTENT $m", map[string]any{"id": recordID("mounts", path), "m": m})
	var qe *surreal.QueryError
	if errors.As(err, &qe) && strings.Contains(qe.Message, "already exists") {
		return badRequest("path is already in use at %s", path)
	}
	return err
}

func (ms *mounts) unmount(ctx context.Context, st *storage.Store, path string) error {
	path = strings.Trim(path, "/") + "/"
	m, err := surreal.Query[*Mount](ctx, ms.db, "SELECT * OMIT id FROM ONLY $id", map[string]any{"id": recordID("mounts", path)})
	if err != nil {
		return err
	}
	if m == nil {
		return nil // Vault answers 204 for an unknown mount too
	}
	if err := st.DeletePrefix(ctx, m.storagePrefix()); err != nil {
		return err
	}
	_, err = surreal.Query[any](ctx, ms.db, "DELETE $id", map[string]any{"id": recordID("mounts", path)})
	return err
}

// describe is the sys/mounts entry of a mount.
func (m Mount) describe() map[string]any {
	return map[string]any{
		"type": m.Type, "description": m.Description, "accessor": m.Accessor, "uuid": m.UUID,
		"options": m.Options, "local": false, "seal_wrap": false, "external_entropy_access": false,
		"config": map[string]any{"default_lease_ttl": m.Config.DefaultLeaseTTL, "max_lease_ttl": m.Config.MaxLeaseTTL, "force_no_cache": false},
	}
}
