package kv

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// v1 is one request to a KV v1 mount: path is its entry's storage path.
type v1 struct {
	e    *Engine
	ctx  context.Context
	req  Request
	path string
}

type v1Handler func(q v1) (keeper.EngineResponse, error)

// v1Paths is KV v1's path table: every path is a secret, and a list of the
// secrets below it.
func v1Paths() engine.Paths[v1Handler] {
	return engine.Paths[v1Handler]{
		{Pattern: "{path*}", Ops: map[string]v1Handler{OpList: v1.list, OpRead: v1.read, OpUpdate: v1.write, OpDelete: v1.delete}},
	}
}

func (e *Engine) serve1(ctx context.Context, req Request) (keeper.EngineResponse, error) {
	h, _, ok := e.v1.Lookup(req.Path, req.Operation)
	if !ok || (req.Path == "" && req.Operation != OpList) {
		return engine.Unsupported()
	}
	return h(v1{e: e, ctx: ctx, req: req, path: mountPrefix(req.MountUUID) + "data/" + req.Path})
}

func (q v1) list() (keeper.EngineResponse, error) {
	if err := q.req.Authorize(capList); err != nil {
		return keeper.EngineResponse{}, err
	}
	prefix := q.path
	if q.req.Path != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return engine.ListKeys(q.ctx, q.e.st, prefix)
}

func (q v1) read() (keeper.EngineResponse, error) {
	if err := q.req.Authorize(capRead); err != nil {
		return keeper.EngineResponse{}, err
	}
	got, err := q.e.st.Get(q.ctx, q.path)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	e, ok := got[q.path]
	if !ok {
		return engine.NotFound()
	}
	var data map[string]any
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return keeper.EngineResponse{}, fmt.Errorf("decode %s: %w", q.path, err)
	}
	return engine.OK(data)
}

func (q v1) write() (keeper.EngineResponse, error) {
	var data map[string]any
	if err := engine.DecodeJSON(q.req.Body, &data); err != nil {
		return keeper.EngineResponse{}, err
	}
	if len(data) == 0 {
		return keeper.EngineResponse{}, invalid("no data provided")
	}
	got, err := q.e.st.Get(q.ctx, q.path)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	capability := capCreate
	if _, ok := got[q.path]; ok {
		capability = capUpdate
	}
	if err := q.req.Authorize(capability); err != nil {
		return keeper.EngineResponse{}, err
	}
	raw, _ := json.Marshal(data)
	if err := checkSize(raw); err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := q.e.st.Put(q.ctx, storage.Write{Path: q.path, Data: raw, Rev: -1}); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}

func (q v1) delete() (keeper.EngineResponse, error) {
	if err := q.req.Authorize(capDelete); err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := q.e.st.Delete(q.ctx, q.path); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}
