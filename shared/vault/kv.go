package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// authorizeFunc checks one capability on the request path; engines call it
// once they know which capability applies (create or update depends on
// whether the secret exists).
type authorizeFunc func(capability string) error

// kvRequest is one request to a KV mount.
type kvRequest struct {
	r    *http.Request
	w    http.ResponseWriter
	m    Mount
	rest string // the path inside the mount
	auth authorizeFunc
	st   *storage.Store
}

const defaultMaxVersions = 10

// kvWriteLocks serialize writes to the same secret within an instance,
// striped so that the set stays small.
var kvWriteLocks [256]sync.Mutex

func stripe(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(len(kvWriteLocks)))
}

// kvReplayFor bounds how long a write that keeps losing to concurrent
// writers of the same secret is replayed before it is a 409: as in Vault,
// a blind write waits its turn rather than fail (16 writers of one secret
// take about a second here), within vault-secrets' 10 s timeout.
const kvReplayFor = 6 * time.Second

// maxKVSecret bounds one secret, like Vault's storage entry limit (512 KiB).
const maxKVSecret = 512 << 10

func serveKV(ctx context.Context, q kvRequest) error {
	if q.m.kvVersion() == 2 {
		return serveKV2(ctx, q)
	}
	return serveKV1(ctx, q)
}

// ---- KV v1 -------------------------------------------------------------------

func serveKV1(ctx context.Context, q kvRequest) error {
	path := q.m.storagePrefix() + "data/" + q.rest
	switch {
	case isList(q.r):
		if err := q.auth(capList); err != nil {
			return err
		}
		prefix := path
		if q.rest != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		return listResponse(ctx, q, prefix)
	case q.rest == "":
		return errUnsupported
	case q.r.Method == http.MethodGet:
		if err := q.auth(capRead); err != nil {
			return err
		}
		got, err := q.st.Get(ctx, path)
		if err != nil {
			return apiError(err)
		}
		e, ok := got[path]
		if !ok {
			return errNotFound
		}
		var data map[string]any
		if err := json.Unmarshal(e.Data, &data); err != nil {
			return fmt.Errorf("decode %s: %w", path, err)
		}
		respond(q.w, http.StatusOK, data, nil, "kv")
		return nil
	case q.r.Method == http.MethodPost || q.r.Method == http.MethodPut:
		var data map[string]any
		if err := decodeBody(q.r, &data); err != nil {
			return err
		}
		if len(data) == 0 {
			return badRequest("no data provided")
		}
		got, err := q.st.Get(ctx, path)
		if err != nil {
			return apiError(err)
		}
		capability := capCreate
		if _, ok := got[path]; ok {
			capability = capUpdate
		}
		if err := q.auth(capability); err != nil {
			return err
		}
		raw, _ := json.Marshal(data)
		if len(raw) > maxKVSecret {
			return httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large", "secret exceeds %d bytes", maxKVSecret)
		}
		if err := q.st.Put(ctx, storage.Write{Path: path, Data: raw, Rev: -1}); err != nil {
			return apiError(err)
		}
		noContent(q.w)
		return nil
	case q.r.Method == http.MethodDelete:
		if err := q.auth(capDelete); err != nil {
			return err
		}
		if err := q.st.Delete(ctx, path); err != nil {
			return err
		}
		noContent(q.w)
		return nil
	}
	return errUnsupported
}

func listResponse(ctx context.Context, q kvRequest, prefix string) error {
	keys, err := q.st.List(ctx, prefix)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return errNotFound
	}
	respond(q.w, http.StatusOK, map[string]any{"keys": keys}, nil, "kv")
	return nil
}

// ---- KV v2 -------------------------------------------------------------------

type kvConfig struct {
	MaxVersions         int    `json:"max_versions"`
	CASRequired         bool   `json:"cas_required"`
	DeleteVersionAfter  string `json:"delete_version_after"`
	MetadataCASRequired bool   `json:"metadata_cas_required"` // OpenBao's: metadata writes need cas
}

// kvSettings are the optional settings of a config or metadata write.
type kvSettings struct {
	MaxVersions         *int  `json:"max_versions"`
	CASRequired         *bool `json:"cas_required"`
	DeleteVersionAfter  any   `json:"delete_version_after"`
	MetadataCASRequired *bool `json:"metadata_cas_required"`
}

// applyTo sets the given settings on c, refusing invalid ones.
func (s kvSettings) applyTo(c *kvConfig) error {
	if s.MaxVersions != nil {
		if *s.MaxVersions < 0 {
			return badRequest("max_versions cannot be negative")
		}
		c.MaxVersions = *s.MaxVersions
	}
	if s.CASRequired != nil {
		c.CASRequired = *s.CASRequired
	}
	if s.MetadataCASRequired != nil {
		c.MetadataCASRequired = *s.MetadataCASRequired
	}
	if s.DeleteVersionAfter != nil {
		d, err := parseDuration(s.DeleteVersionAfter)
		if err != nil {
			return badRequest("invalid delete_version_after: %v", err)
		}
		c.DeleteVersionAfter = d.String()
	}
	return nil
}

type versionMeta struct {
	CreatedTime  time.Time  `json:"created_time"`
	DeletionTime *time.Time `json:"deletion_time,omitempty"`
	Destroyed    bool       `json:"destroyed"`
}

type kvMeta struct {
	kvConfig                         // the key's own settings, over the mount's
	CustomMetadata map[string]string `json:"custom_metadata"`
	CreatedTime    time.Time         `json:"created_time"`
	UpdatedTime    time.Time         `json:"updated_time"`
	CurrentVersion int               `json:"current_version"`
	OldestVersion  int               `json:"oldest_version"` // 0 until versions are trimmed, as Vault
	// MetadataVersion counts writes of the metadata itself (OpenBao's
	// current_metadata_version, which a metadata write's cas must match).
	MetadataVersion int                     `json:"metadata_version"`
	Versions        map[string]*versionMeta `json:"versions"`
	// Latest is the current version's data, also kept here (sealed with the
	// metadata, written in the same transaction) so that reading the latest
	// version takes one fetch and one vault-crypto call instead of two each.
	Latest json.RawMessage `json:"latest,omitempty"`
}

func (v *versionMeta) deleted(now time.Time) bool {
	return v.DeletionTime != nil && !v.DeletionTime.After(now)
}

func (v *versionMeta) view(version int, custom map[string]string) map[string]any {
	deletion := ""
	if v.DeletionTime != nil {
		deletion = vaultTime(*v.DeletionTime)
	}
	var cm any
	if len(custom) > 0 {
		cm = custom
	}
	return map[string]any{"created_time": vaultTime(v.CreatedTime), "deletion_time": deletion,
		"destroyed": v.Destroyed, "version": version, "custom_metadata": cm}
}

func (m *kvMeta) view() map[string]any {
	versions := map[string]any{}
	for k, v := range m.Versions {
		deletion := ""
		if v.DeletionTime != nil {
			deletion = vaultTime(*v.DeletionTime)
		}
		versions[k] = map[string]any{"created_time": vaultTime(v.CreatedTime), "deletion_time": deletion, "destroyed": v.Destroyed}
	}
	var cm any
	if len(m.CustomMetadata) > 0 {
		cm = m.CustomMetadata
	}
	dva := m.DeleteVersionAfter
	if dva == "" {
		dva = "0s"
	}
	return map[string]any{
		"cas_required": m.CASRequired, "created_time": vaultTime(m.CreatedTime), "current_version": m.CurrentVersion,
		"custom_metadata": cm, "delete_version_after": dva, "max_versions": m.MaxVersions,
		"oldest_version": m.OldestVersion, "updated_time": vaultTime(m.UpdatedTime), "versions": versions,
		"current_metadata_version": m.MetadataVersion, "metadata_cas_required": m.MetadataCASRequired,
	}
}

type kv2 struct {
	kvRequest
	key string
}

func (k kv2) metaPath() string { return k.m.storagePrefix() + "metadata/" + k.key }
func (k kv2) versionPath(v int) string {
	return k.m.storagePrefix() + "versions/" + k.key + "/" + strconv.Itoa(v)
}
func (k kv2) configPath() string           { return k.m.storagePrefix() + "config" }
func (k kv2) respond(status int, data any) { respond(k.w, status, data, nil, "kv") }

func serveKV2(ctx context.Context, q kvRequest) error {
	op, key, _ := strings.Cut(q.rest, "/")
	k := kv2{kvRequest: q, key: key}
	if op == "config" && key == "" {
		return k.config(ctx)
	}
	if key == "" && !(op == "metadata" && isList(q.r)) {
		return errUnsupported
	}
	// A write that lost to a concurrent one is replayed on fresh state, after
	// a short random pause so that the writers spread out. The body is read
	// once and given to every attempt.
	body, err := readBody(k.r)
	if err != nil {
		return err
	}
	if k.r.Method != http.MethodGet && k.r.Method != http.MethodHead && !isList(k.r) {
		// Writers of one secret take turns within this instance, so that they
		// do not make each other replay. Correctness does not rest on it: the
		// metadata write is conditional on its revision and a version is a
		// record created once, both checked by SurrealDB across instances.
		mu := &kvWriteLocks[stripe(q.m.UUID+"/"+key)]
		mu.Lock()
		defer mu.Unlock()
	}
	deadline := time.Now().Add(kvReplayFor)
	for attempt := 0; ; attempt++ {
		k.r.Body = io.NopCloser(bytes.NewReader(body))
		err := k.dispatch(ctx, op)
		if !errors.Is(err, storage.ErrConflict) {
			return err
		}
		if time.Now().After(deadline) {
			return httpapi.Errorf(http.StatusConflict, "conflict", "concurrent update of %q; retry", key)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(rand.IntN(min(2<<attempt, 40))+1) * time.Millisecond):
		}
	}
}

func (k kv2) dispatch(ctx context.Context, op string) error {
	r := k.r
	switch {
	case op == "data" && r.Method == http.MethodGet && !isList(r):
		return k.read(ctx)
	case op == "data" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		return k.write(ctx)
	case op == "data" && r.Method == http.MethodPatch:
		return k.patch(ctx)
	case op == "metadata" && r.Method == http.MethodPatch:
		return k.patchMeta(ctx)
	case op == "data" && r.Method == http.MethodDelete:
		return k.softDelete(ctx, nil)
	case op == "delete" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		vs, err := k.versionsBody()
		if err != nil {
			return err
		}
		return k.softDelete(ctx, vs)
	case op == "undelete" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		return k.undelete(ctx)
	case op == "destroy" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		return k.destroy(ctx)
	case op == "metadata" && isList(r):
		if err := k.auth(capList); err != nil {
			return err
		}
		prefix := k.m.storagePrefix() + "metadata/" + k.key
		if k.key != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		return listResponse(ctx, k.kvRequest, prefix)
	case op == "metadata" && r.Method == http.MethodGet:
		return k.readMeta(ctx)
	case op == "metadata" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		return k.writeMeta(ctx)
	case op == "metadata" && r.Method == http.MethodDelete:
		return k.deleteAll(ctx)
	}
	return errUnsupported
}

// load opens the mount config and this key's metadata (nil if the key is new).
func (k kv2) load(ctx context.Context) (kvConfig, *kvMeta, int, error) {
	got, err := k.st.Get(ctx, k.configPath(), k.metaPath())
	if err != nil {
		return kvConfig{}, nil, 0, apiError(err)
	}
	cfg := kvConfig{MaxVersions: 0}
	if e, ok := got[k.configPath()]; ok {
		_ = json.Unmarshal(e.Data, &cfg)
	}
	e, ok := got[k.metaPath()]
	if !ok {
		return cfg, nil, 0, nil
	}
	var meta kvMeta
	if err := json.Unmarshal(e.Data, &meta); err != nil {
		return cfg, nil, 0, fmt.Errorf("decode metadata of %q: %w", k.key, err)
	}
	if meta.Versions == nil {
		meta.Versions = map[string]*versionMeta{}
	}
	return cfg, &meta, e.Rev, nil
}

func (k kv2) saveMeta(meta *kvMeta, rev int, more ...storage.Write) []storage.Write {
	raw, _ := json.Marshal(meta)
	return append([]storage.Write{{Path: k.metaPath(), Data: raw, Rev: rev}}, more...)
}

type kvWriteBody struct {
	Data    map[string]any `json:"data"`
	Options struct {
		CAS *int `json:"cas"`
	} `json:"options"`
}

// loadForWrite loads the config and metadata, checks create (a new key) or
// update (an existing one), and returns metadata to modify: a fresh record
// for a new key.
func (k kv2) loadForWrite(ctx context.Context) (kvConfig, *kvMeta, int, time.Time, error) {
	cfg, meta, rev, err := k.load(ctx)
	if err != nil {
		return kvConfig{}, nil, 0, time.Time{}, err
	}
	capability := capUpdate
	if meta == nil {
		capability = capCreate
	}
	if err := k.auth(capability); err != nil {
		return kvConfig{}, nil, 0, time.Time{}, err
	}
	now := time.Now().UTC()
	if meta == nil {
		meta = &kvMeta{CreatedTime: now, Versions: map[string]*versionMeta{}}
	}
	return cfg, meta, rev, now, nil
}

func (k kv2) write(ctx context.Context) error {
	var body kvWriteBody
	if err := decodeBody(k.r, &body); err != nil {
		return err
	}
	if body.Data == nil {
		return badRequest("no data provided")
	}
	raw, _ := json.Marshal(body.Data)
	if len(raw) > maxKVSecret {
		return httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large", "secret exceeds %d bytes", maxKVSecret)
	}
	cfg, meta, rev, now, err := k.loadForWrite(ctx)
	if err != nil {
		return err
	}
	if err := checkCAS(cfg, meta, body.Options.CAS); err != nil {
		return err
	}
	return k.commitVersion(ctx, cfg, meta, rev, now, raw)
}

// checkCAS applies the check-and-set rules of a data write.
func checkCAS(cfg kvConfig, meta *kvMeta, cas *int) error {
	switch {
	case cas == nil && (cfg.CASRequired || meta.CASRequired):
		return badRequest("check-and-set parameter required for this call")
	case cas != nil && *cas != meta.CurrentVersion:
		return badRequest("check-and-set parameter did not match the current version")
	}
	return nil
}

// commitVersion stores raw as the key's next version, trims the versions
// beyond max_versions and answers with the new version's metadata.
func (k kv2) commitVersion(ctx context.Context, cfg kvConfig, meta *kvMeta, rev int, now time.Time, raw []byte) error {
	version := meta.CurrentVersion + 1
	vm := &versionMeta{CreatedTime: now}
	if dva := firstNonEmpty(meta.DeleteVersionAfter, cfg.DeleteVersionAfter); dva != "" {
		if d, err := parseDuration(dva); err == nil && d > 0 {
			t := now.Add(d)
			vm.DeletionTime = &t
		}
	}
	meta.Versions[strconv.Itoa(version)] = vm
	meta.CurrentVersion, meta.UpdatedTime, meta.Latest = version, now, raw
	pruned := prune(meta, firstPositive(meta.MaxVersions, cfg.MaxVersions, defaultMaxVersions))
	if err := k.st.Put(ctx, k.saveMeta(meta, rev, storage.Write{Path: k.versionPath(version), Data: raw, Rev: 0})...); err != nil {
		return apiError(err)
	}
	if len(pruned) > 0 {
		paths := make([]string, len(pruned))
		for i, v := range pruned {
			paths[i] = k.versionPath(v)
		}
		if err := k.st.Delete(ctx, paths...); err != nil {
			return err
		}
	}
	k.respond(http.StatusOK, vm.view(version, meta.CustomMetadata))
	return nil
}

// prune drops the oldest versions beyond max and returns them.
func prune(meta *kvMeta, max int) []int {
	var nums []int
	for s := range meta.Versions {
		n, _ := strconv.Atoi(s)
		nums = append(nums, n)
	}
	sort.Ints(nums)
	var dropped []int
	for len(nums) > max {
		delete(meta.Versions, strconv.Itoa(nums[0]))
		dropped = append(dropped, nums[0])
		nums = nums[1:]
	}
	if len(dropped) > 0 && len(nums) > 0 {
		meta.OldestVersion = nums[0] // Vault moves it only when it trims
	}
	return dropped
}

func (k kv2) read(ctx context.Context) error {
	if err := k.auth(capRead); err != nil {
		return err
	}
	_, meta, _, err := k.load(ctx)
	if err != nil {
		return err
	}
	if meta == nil {
		return errNotFound
	}
	version := meta.CurrentVersion
	if s := k.r.URL.Query().Get("version"); s != "" && s != "0" {
		if version, err = strconv.Atoi(s); err != nil || version < 0 {
			return badRequest("invalid version %q", s)
		}
	}
	vm, ok := meta.Versions[strconv.Itoa(version)]
	if !ok {
		return errNotFound
	}
	now := time.Now()
	if vm.Destroyed || vm.deleted(now) {
		// Vault answers a deleted version with 404 and its metadata.
		k.respond(http.StatusNotFound, map[string]any{"data": nil, "metadata": vm.view(version, meta.CustomMetadata)})
		return nil
	}
	raw := []byte(meta.Latest)
	if version != meta.CurrentVersion || raw == nil {
		got, err := k.st.Get(ctx, k.versionPath(version))
		if err != nil {
			return apiError(err)
		}
		e, ok := got[k.versionPath(version)]
		if !ok {
			return errNotFound
		}
		raw = e.Data
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		return fmt.Errorf("decode version %d of %q: %w", version, k.key, err)
	}
	k.respond(http.StatusOK, map[string]any{"data": data, "metadata": vm.view(version, meta.CustomMetadata)})
	return nil
}

func (k kv2) versionsBody() ([]int, error) {
	var body struct {
		Versions any `json:"versions"`
	}
	if err := decodeBody(k.r, &body); err != nil {
		return nil, err
	}
	versions, err := commaInts(body.Versions)
	if err != nil {
		return nil, err
	}
	if len(versions) == 0 {
		return nil, badRequest("no version number provided")
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
		var n int
		var err error
		switch x := it.(type) {
		case float64:
			n = int(x)
			if float64(n) != x {
				err = errors.New("not a whole number")
			}
		case string:
			n, err = strconv.Atoi(strings.TrimSpace(x))
		default:
			err = errors.New("not a number")
		}
		if err != nil || n < 0 {
			return nil, badRequest("invalid version %v in 'versions'", it)
		}
		out = append(out, n)
	}
	return out, nil
}

// updateVersions applies change to the listed versions' metadata and stores
// it; a missing secret is a no-op (204), as in Vault. change returns true for
// a version whose data must be removed from storage.
func (k kv2) updateVersions(ctx context.Context, capability string, versions []int, change func(v int, vm *versionMeta, meta *kvMeta) bool) error {
	if err := k.auth(capability); err != nil {
		return err
	}
	_, meta, rev, err := k.load(ctx)
	if err != nil {
		return err
	}
	if meta == nil {
		noContent(k.w)
		return nil
	}
	if versions == nil {
		versions = []int{meta.CurrentVersion}
	}
	var remove []string
	for _, v := range versions {
		if vm, ok := meta.Versions[strconv.Itoa(v)]; ok && change(v, vm, meta) {
			remove = append(remove, k.versionPath(v))
		}
	}
	meta.UpdatedTime = time.Now().UTC()
	if err := k.st.Put(ctx, k.saveMeta(meta, rev)...); err != nil {
		return apiError(err)
	}
	if len(remove) > 0 {
		if err := k.st.Delete(ctx, remove...); err != nil {
			return err
		}
	}
	noContent(k.w)
	return nil
}

// softDelete marks versions deleted (the latest when versions is nil).
func (k kv2) softDelete(ctx context.Context, versions []int) error {
	now := time.Now().UTC()
	return k.updateVersions(ctx, capDelete, versions, func(_ int, vm *versionMeta, _ *kvMeta) bool {
		if !vm.Destroyed && !vm.deleted(now) {
			vm.DeletionTime = &now
		}
		return false
	})
}

func (k kv2) undelete(ctx context.Context) error {
	versions, err := k.versionsBody()
	if err != nil {
		return err
	}
	return k.updateVersions(ctx, capUpdate, versions, func(_ int, vm *versionMeta, _ *kvMeta) bool {
		if !vm.Destroyed {
			vm.DeletionTime = nil
		}
		return false
	})
}

func (k kv2) destroy(ctx context.Context) error {
	versions, err := k.versionsBody()
	if err != nil {
		return err
	}
	return k.updateVersions(ctx, capUpdate, versions, func(v int, vm *versionMeta, meta *kvMeta) bool {
		if vm.Destroyed {
			return false
		}
		vm.Destroyed = true
		if v == meta.CurrentVersion {
			meta.Latest = nil // destroyed means gone from every copy
		}
		return true
	})
}

func (k kv2) readMeta(ctx context.Context) error {
	if err := k.auth(capRead); err != nil {
		return err
	}
	cfg, meta, _, err := k.load(ctx)
	if err != nil {
		return err
	}
	if meta == nil {
		return errNotFound
	}
	if meta.MaxVersions == 0 {
		meta.MaxVersions = cfg.MaxVersions
	}
	k.respond(http.StatusOK, meta.view())
	return nil
}

func (k kv2) writeMeta(ctx context.Context) error {
	var body struct {
		kvSettings
		CustomMetadata map[string]string `json:"custom_metadata"`
		CAS            *int              `json:"cas"`
	}
	if err := decodeBody(k.r, &body); err != nil {
		return err
	}
	cfg, meta, rev, now, err := k.loadForWrite(ctx)
	if err != nil {
		return err
	}
	if err := checkMetadataCAS(cfg, meta, body.CAS); err != nil {
		return err
	}
	if err := body.applyTo(&meta.kvConfig); err != nil {
		return err
	}
	if body.CustomMetadata != nil {
		meta.CustomMetadata = body.CustomMetadata
	}
	// As Vault, a lower max_versions trims on the key's next write, not now.
	meta.UpdatedTime = now
	meta.MetadataVersion++
	if err := k.st.Put(ctx, k.saveMeta(meta, rev)...); err != nil {
		return apiError(err)
	}
	noContent(k.w)
	return nil
}

func (k kv2) deleteAll(ctx context.Context) error {
	if err := k.auth(capDelete); err != nil {
		return err
	}
	_, meta, _, err := k.load(ctx)
	if err != nil {
		return err
	}
	if meta != nil {
		paths := []string{k.metaPath()}
		for s := range meta.Versions {
			v, _ := strconv.Atoi(s)
			paths = append(paths, k.versionPath(v))
		}
		if err := k.st.Delete(ctx, paths...); err != nil {
			return err
		}
	}
	noContent(k.w)
	return nil
}

func (k kv2) config(ctx context.Context) error {
	switch k.r.Method {
	case http.MethodGet:
		if err := k.auth(capRead); err != nil {
			return err
		}
		cfg, _, _, err := k.load(ctx)
		if err != nil {
			return err
		}
		dva := cfg.DeleteVersionAfter
		if dva == "" {
			dva = "0s"
		}
		k.respond(http.StatusOK, map[string]any{"max_versions": cfg.MaxVersions, "cas_required": cfg.CASRequired,
			"delete_version_after": dva, "metadata_cas_required": cfg.MetadataCASRequired})
		return nil
	case http.MethodPost, http.MethodPut:
		if err := k.auth(capUpdate); err != nil {
			return err
		}
		var body kvSettings
		if err := decodeBody(k.r, &body); err != nil {
			return err
		}
		cfg, _, _, err := k.load(ctx)
		if err != nil {
			return err
		}
		if err := body.applyTo(&cfg); err != nil {
			return err
		}
		raw, _ := json.Marshal(cfg)
		if err := k.st.Put(ctx, storage.Write{Path: k.configPath(), Data: raw, Rev: -1}); err != nil {
			return apiError(err)
		}
		noContent(k.w)
		return nil
	}
	return errUnsupported
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
