package kv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// replayFor bounds how long a write that keeps losing to concurrent
// writers of the same secret is replayed before it is a ConflictError: as
// in Vault, a blind write waits its turn rather than fail (16 writers of one
// secret take about a second here), within vault-secrets' 10 s timeout.
const replayFor = 6 * time.Second

// v2 is one request to a KV v2 mount about one key ("" for the mount's
// config and the list of its top level).
type v2 struct {
	e   *Engine
	ctx context.Context
	req Request
	key string
}

type v2Handler func(k v2) (keeper.EngineResponse, error)

// v2Paths is KV v2's path table.
func v2Paths() engine.Paths[v2Handler] {
	return engine.Paths[v2Handler]{
		{Pattern: "config", Ops: map[string]v2Handler{OpRead: v2.readConfig, OpUpdate: v2.writeConfig}},
		{Pattern: "data/{key*}", Ops: map[string]v2Handler{OpRead: v2.read, OpUpdate: v2.write, OpPatch: v2.patch, OpDelete: v2.deleteLatest}},
		{Pattern: "delete/{key*}", Ops: map[string]v2Handler{OpUpdate: v2.deleteVersions}},
		{Pattern: "undelete/{key*}", Ops: map[string]v2Handler{OpUpdate: v2.undelete}},
		{Pattern: "destroy/{key*}", Ops: map[string]v2Handler{OpUpdate: v2.destroy}},
		{Pattern: "metadata", Ops: map[string]v2Handler{OpList: v2.listMeta}},
		{Pattern: "metadata/{key*}", Ops: map[string]v2Handler{OpList: v2.listMeta, OpRead: v2.readMeta,
			OpUpdate: v2.writeMeta, OpPatch: v2.patchMeta, OpDelete: v2.deleteAll}},
	}
}

// serve2 routes a KV v2 request. A write that lost to a concurrent one is
// replayed on fresh state, after a short random pause so that the writers
// spread out.
func (e *Engine) serve2(ctx context.Context, req Request) (keeper.EngineResponse, error) {
	h, params, ok := e.v2.Lookup(req.Path, req.Operation)
	if !ok {
		return engine.Unsupported()
	}
	k := v2{e: e, ctx: ctx, req: req, key: params["key"]}
	if req.Operation == OpUpdate || req.Operation == OpPatch || req.Operation == OpDelete {
		// Writers of one secret take turns within this instance, so that they
		// do not make each other replay. Correctness does not rest on it: the
		// metadata write is conditional on its revision and a version is a
		// record created once, both checked by SurrealDB across instances.
		mu := e.stripe(req.MountUUID + "/" + k.key)
		mu.Lock()
		defer mu.Unlock()
	}
	deadline := time.Now().Add(replayFor)
	for attempt := 0; ; attempt++ {
		res, err := h(k)
		if !errors.Is(err, storage.ErrConflict) {
			return res, err
		}
		if time.Now().After(deadline) {
			return keeper.EngineResponse{}, &ConflictError{Key: k.key}
		}
		select {
		case <-ctx.Done():
			return keeper.EngineResponse{}, ctx.Err()
		case <-time.After(time.Duration(rand.IntN(min(2<<attempt, 40))+1) * time.Millisecond):
		}
	}
}

func (k v2) prefix() string   { return mountPrefix(k.req.MountUUID) }
func (k v2) metaPath() string { return k.prefix() + "metadata/" + k.key }
func (k v2) configPath() string {
	return k.prefix() + "config"
}
func (k v2) versionPath(v int) string {
	return k.prefix() + "versions/" + k.key + "/" + strconv.Itoa(v)
}

// load opens the mount config and this key's metadata (nil if the key is new).
func (k v2) load() (config, *meta, int, error) {
	got, err := k.e.st.Get(k.ctx, k.configPath(), k.metaPath())
	if err != nil {
		return config{}, nil, 0, err
	}
	cfg := config{}
	if e, ok := got[k.configPath()]; ok {
		_ = json.Unmarshal(e.Data, &cfg)
	}
	e, ok := got[k.metaPath()]
	if !ok {
		return cfg, nil, 0, nil
	}
	var m meta
	if err := json.Unmarshal(e.Data, &m); err != nil {
		return cfg, nil, 0, fmt.Errorf("decode metadata of %q: %w", k.key, err)
	}
	if m.Versions == nil {
		m.Versions = map[string]*versionMeta{}
	}
	return cfg, &m, e.Rev, nil
}

// saveMeta is the write of m conditional on rev, and more writes with it.
func (k v2) saveMeta(m *meta, rev int, more ...storage.Write) []storage.Write {
	raw, _ := json.Marshal(m)
	return append([]storage.Write{{Path: k.metaPath(), Data: raw, Rev: rev}}, more...)
}

// loadForWrite loads the config and metadata, checks create (a new key) or
// update (an existing one), and returns metadata to modify: a fresh record
// for a new key.
func (k v2) loadForWrite() (config, *meta, int, time.Time, error) {
	cfg, m, rev, err := k.load()
	if err != nil {
		return config{}, nil, 0, time.Time{}, err
	}
	capability := capUpdate
	if m == nil {
		capability = capCreate
	}
	if err := k.req.Authorize(capability); err != nil {
		return config{}, nil, 0, time.Time{}, err
	}
	now := time.Now().UTC()
	if m == nil {
		m = &meta{CreatedTime: now, Versions: map[string]*versionMeta{}}
	}
	return cfg, m, rev, now, nil
}

func (k v2) listMeta() (keeper.EngineResponse, error) {
	if err := k.req.Authorize(capList); err != nil {
		return keeper.EngineResponse{}, err
	}
	prefix := k.metaPath()
	if k.key != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return engine.ListKeys(k.ctx, k.e.st, prefix)
}

func (k v2) readConfig() (keeper.EngineResponse, error) {
	if err := k.req.Authorize(capRead); err != nil {
		return keeper.EngineResponse{}, err
	}
	cfg, _, _, err := k.load()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	dva := cfg.DeleteVersionAfter
	if dva == "" {
		dva = "0s"
	}
	return engine.OK(map[string]any{"max_versions": cfg.MaxVersions, "cas_required": cfg.CASRequired,
		"delete_version_after": dva, "metadata_cas_required": cfg.MetadataCASRequired})
}

func (k v2) writeConfig() (keeper.EngineResponse, error) {
	if err := k.req.Authorize(capUpdate); err != nil {
		return keeper.EngineResponse{}, err
	}
	var body settings
	if err := engine.DecodeJSON(k.req.Body, &body); err != nil {
		return keeper.EngineResponse{}, err
	}
	cfg, _, _, err := k.load()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := body.applyTo(&cfg); err != nil {
		return keeper.EngineResponse{}, err
	}
	raw, _ := json.Marshal(cfg)
	if err := k.e.st.Put(k.ctx, storage.Write{Path: k.configPath(), Data: raw, Rev: -1}); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}
