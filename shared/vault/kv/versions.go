package kv

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// versionsBody reads the versions of a delete, undelete or destroy.
func (k v2) versionsBody() ([]int, error) {
	var body struct {
		Versions any `json:"versions"`
	}
	if err := engine.DecodeJSON(k.req.Body, &body); err != nil {
		return nil, err
	}
	versions, err := commaInts(body.Versions)
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return nil, invalid("no version number provided")
	}
	return versions, nil
}

// commaInts reads a list of versions as Vault does: numbers, numeric
// strings (what `vault kv undelete -versions=1,2` sends) or one
// comma-separated string.
func commaInts(v any) ([]int, error) {
	var items []any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		items = x
	case string:
		for _, part := range strings.Split(x, ",") {
			items = append(items, part)
		}
	default:
		items = []any{x}
	}
	out := make([]int, 0, len(items))
	for _, it := range items {
		n, err := versionNumber(it)
		if err != nil || n < 0 {
			return nil, invalid("invalid version %v in 'versions'", it)
		}
		out = append(out, n)
	}
	return out, nil
}

func versionNumber(it any) (int, error) {
	switch x := it.(type) {
	case float64:
		if n := int(x); float64(n) == x {
			return n, nil
		}
		return 0, errors.New("not a whole number")
	case string:
		return strconv.Atoi(strings.TrimSpace(x))
	}
	return 0, errors.New("not a number")
}

// updateVersions applies change to the listed versions' metadata and stores
// it; a missing secret is a no-op (204), as in Vault. change returns true for
// a version whose data must be removed from storage.
func (k v2) updateVersions(capability string, versions []int, change func(v int, vm *versionMeta, m *meta) bool) (keeper.EngineResponse, error) {
	if err := k.req.Authorize(capability); err != nil {
		return keeper.EngineResponse{}, err
	}
	_, m, rev, err := k.load()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if m == nil {
		return engine.NoContent()
	}
	if versions == nil {
		versions = []int{m.CurrentVersion}
	}
	var remove []string
	for _, v := range versions {
		if vm, ok := m.Versions[strconv.Itoa(v)]; ok && change(v, vm, m) {
			remove = append(remove, k.versionPath(v))
		}
	}
	m.UpdatedTime = time.Now().UTC()
	if err := k.e.st.Put(k.ctx, k.saveMeta(m, rev)...); err != nil {
		return keeper.EngineResponse{}, err
	}
	if len(remove) > 0 {
		if err := k.e.st.Delete(k.ctx, remove...); err != nil {
			return keeper.EngineResponse{}, err
		}
	}
	return engine.NoContent()
}

// softDelete marks versions deleted (the latest when versions is nil).
func (k v2) softDelete(versions []int) (keeper.EngineResponse, error) {
	now := time.Now().UTC()
	return k.updateVersions(capDelete, versions, func(_ int, vm *versionMeta, _ *meta) bool {
		if !vm.Destroyed && !vm.deleted(now) {
			vm.DeletionTime = &now
		}
		return false
	})
}

// deleteLatest is DELETE data/<key>: the current version.
func (k v2) deleteLatest() (keeper.EngineResponse, error) { return k.softDelete(nil) }

// deleteVersions is delete/<key>: the versions listed.
func (k v2) deleteVersions() (keeper.EngineResponse, error) {
	versions, err := k.versionsBody()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.softDelete(versions)
}

func (k v2) undelete() (keeper.EngineResponse, error) {
	versions, err := k.versionsBody()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.updateVersions(capUpdate, versions, func(_ int, vm *versionMeta, _ *meta) bool {
		if !vm.Destroyed {
			vm.DeletionTime = nil
		}
		return false
	})
}

func (k v2) destroy() (keeper.EngineResponse, error) {
	versions, err := k.versionsBody()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.updateVersions(capUpdate, versions, func(v int, vm *versionMeta, m *meta) bool {
		if vm.Destroyed {
			return false
		}
		vm.Destroyed = true
		if v == m.CurrentVersion {
			m.Latest = nil // destroyed means gone from every copy
		}
		return true
	})
}
