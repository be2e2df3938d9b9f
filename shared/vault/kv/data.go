package kv

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// MergePatchType is the only body PATCH takes, as in Vault (RFC 7396).
const MergePatchType = "application/merge-patch+json"

// errMissing is a version whose data is gone: Vault's plain 404.
var errMissing = errors.New("kv: no such version")

type writeBody struct {
	Data    map[string]any `json:"data"`
	Options struct {
		CAS *int `json:"cas"`
	} `json:"options"`
}

// readWriteBody reads a data write or patch: its data is required.
func (k v2) readWriteBody() (writeBody, error) {
	var body writeBody
	if err := engine.DecodeJSON(k.req.Body, &body); err != nil {
		return body, err
	}
	if body.Data == nil {
		return body, invalid("no data provided")
	}
	return body, nil
}

func (k v2) write() (keeper.EngineResponse, error) {
	body, err := k.readWriteBody()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	raw, _ := json.Marshal(body.Data)
	if err := checkSize(raw); err != nil {
		return keeper.EngineResponse{}, err
	}
	cfg, m, rev, now, err := k.loadForWrite()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := checkCAS(cfg, m, body.Options.CAS); err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.commitVersion(cfg, m, rev, now, raw)
}

// checkCAS applies the check-and-set rules of a data write.
func checkCAS(cfg config, m *meta, cas *int) error {
	switch {
	case cas == nil && (cfg.CASRequired || m.CASRequired):
		return invalid("check-and-set parameter required for this call")
	case cas != nil && *cas != m.CurrentVersion:
		return invalid("check-and-set parameter did not match the current version")
	}
	return nil
}

// commitVersion stores raw as the key's next version, trims the versions
// beyond max_versions and answers with the new version's metadata.
func (k v2) commitVersion(cfg config, m *meta, rev int, now time.Time, raw []byte) (keeper.EngineResponse, error) {
	version := m.CurrentVersion + 1
	vm := &versionMeta{CreatedTime: now}
	if dva := firstNonEmpty(m.DeleteVersionAfter, cfg.DeleteVersionAfter); dva != "" {
		if d, err := engine.ParseDuration(dva); err == nil && d > 0 {
			t := now.Add(d)
			vm.DeletionTime = &t
		}
	}
	m.Versions[strconv.Itoa(version)] = vm
	m.CurrentVersion, m.UpdatedTime, m.Latest = version, now, raw
	writes := []storage.Write{{Path: k.versionPath(version), Data: raw, Rev: 0}}
	for _, v := range prune(m, firstPositive(m.MaxVersions, cfg.MaxVersions, defaultMaxVersions)) {
		writes = append(writes, storage.Write{Path: k.versionPath(v), Remove: true}) // trimmed in the same transaction
	}
	if err := k.e.st.Put(k.ctx, k.saveMeta(m, rev, writes...)...); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.OK(vm.view(version, m.CustomMetadata))
}

// prune drops the oldest versions beyond max and returns them.
func prune(m *meta, max int) []int {
	var nums []int
	for s := range m.Versions {
		n, _ := strconv.Atoi(s)
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var dropped []int
	for len(nums) > max {
		delete(m.Versions, strconv.Itoa(nums[0]))
		dropped = append(dropped, nums[0])
		nums = nums[1:]
	}
	if len(dropped) > 0 && len(nums) > 0 {
		m.OldestVersion = nums[0] // Vault moves it only when it trims
	}
	return dropped
}

func (k v2) read() (keeper.EngineResponse, error) {
	if err := k.req.Authorize(capRead); err != nil {
		return keeper.EngineResponse{}, err
	}
	_, m, _, err := k.load()
	if err != nil || m == nil {
		return notFoundOr(err)
	}
	version := m.CurrentVersion
	if s := k.req.ReadVersion; s != "" && s != "0" {
		if version, err = strconv.Atoi(s); err != nil || version < 0 {
			return keeper.EngineResponse{}, invalid("invalid version %q", s)
		}
	}
	vm, ok := m.Versions[strconv.Itoa(version)]
	if !ok {
		return engine.NotFound()
	}
	if vm.Destroyed || vm.deleted(time.Now()) {
		// Vault answers a deleted version with 404 and its metadata.
		return engine.WithStatus(http.StatusNotFound, map[string]any{"data": nil, "metadata": vm.view(version, m.CustomMetadata)})
	}
	data, err := k.versionData(m, version)
	if errors.Is(err, errMissing) {
		return engine.NotFound()
	}
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.OK(map[string]any{"data": data, "metadata": vm.view(version, m.CustomMetadata)})
}

// versionData opens one version's data: errMissing when it is gone.
func (k v2) versionData(m *meta, version int) (map[string]any, error) {
	raw := []byte(m.Latest)
	if version != m.CurrentVersion || raw == nil {
		got, err := k.e.st.Get(k.ctx, k.versionPath(version))
		if err != nil {
			return nil, err
		}
		e, ok := got[k.versionPath(version)]
		if !ok {
			return nil, errMissing
		}
		raw = e.Data
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, fmt.Errorf("decode version %d of %q: %w", version, k.key, err)
	}
	return data, nil
}

func (k v2) requireMergePatch() error {
	if mt, _, _ := mime.ParseMediaType(k.req.ContentType); mt != MergePatchType {
		return &MediaTypeError{Got: k.req.ContentType}
	}
	return nil
}

// patch merges the body's data into the current version and stores the
// result as a new version: Vault's PATCH on data/<path>, which `kv patch`
// sends. It needs the patch capability; a missing, deleted or destroyed
// current version is a 404.
func (k v2) patch() (keeper.EngineResponse, error) {
	if err := k.requireMergePatch(); err != nil {
		return keeper.EngineResponse{}, err
	}
	body, err := k.readWriteBody()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := k.req.Authorize(capPatch); err != nil {
		return keeper.EngineResponse{}, err
	}
	cfg, m, rev, err := k.load()
	if err != nil || m == nil {
		return notFoundOr(err)
	}
	vm, ok := m.Versions[strconv.Itoa(m.CurrentVersion)]
	now := time.Now().UTC()
	if !ok || vm.Destroyed || vm.deleted(now) {
		return engine.NotFound()
	}
	if err := checkCAS(cfg, m, body.Options.CAS); err != nil {
		return keeper.EngineResponse{}, err
	}
	current, err := k.versionData(m, m.CurrentVersion)
	if errors.Is(err, errMissing) {
		return engine.NotFound()
	}
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	raw, _ := json.Marshal(MergePatch(current, body.Data))
	if err := checkSize(raw); err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.commitVersion(cfg, m, rev, now, raw)
}

// MergePatch applies an RFC 7396 JSON merge patch to target: null removes a
// key, an object merges into an object, anything else replaces.
func MergePatch(target, patch map[string]any) map[string]any {
	if target == nil {
		target = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(target, k)
		case map[string]any:
			tv, _ := target[k].(map[string]any)
			target[k] = MergePatch(tv, pv)
		default:
			target[k] = v
		}
	}
	return target
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" && v != "0s" {
			return v
		}
	}
	return ""
}

func firstPositive(vs ...int) int {
	for _, v := range vs {
		if v > 0 {
			return v
		}
	}
	return 0
}
