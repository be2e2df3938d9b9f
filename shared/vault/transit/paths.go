package transit

import (
	"context"
	"strings"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// request is one request to a transit mount, routed by paths.
type request struct {
	e   *Engine
	ctx context.Context
	req keeper.EngineRequest
	f   engine.Fields
	p   engine.Params
}

type handler func(q request) (keeper.EngineResponse, error)

// ops is a row's handlers by operation.
type ops = map[string]handler

// paths is transit's path table, as OpenBao's builtin/logical/transit
// declares it: one file per group (path_keys.go, path_encrypt.go…).
var paths = engine.Paths[handler]{
	{Pattern: "keys", Ops: ops{"list": listKeys, "read": listKeys}},
	{Pattern: "keys/{name}", Ops: ops{"read": keyed(keyRequest.read), "update": keyed(keyRequest.create), "delete": keyed(keyRequest.delete)}},
	{Pattern: "keys/{name}/rotate", Ops: ops{"update": keyed(keyRequest.rotate)}},
	{Pattern: "keys/{name}/config", Ops: ops{"update": keyed(keyRequest.configure)}},
	{Pattern: "keys/{name}/trim", Ops: ops{"update": keyed(keyRequest.trim)}},
	{Pattern: "export/{type}/{name}", Ops: ops{"read": keyed(keyRequest.export)}},
	{Pattern: "export/{type}/{name}/{version}", Ops: ops{"read": keyed(keyRequest.export)}},
	{Pattern: "encrypt/{name}", Ops: ops{"update": keyed(keyRequest.encrypt)}},
	{Pattern: "decrypt/{name}", Ops: ops{"update": keyed(keyRequest.decrypt)}},
	{Pattern: "rewrap/{name}", Ops: ops{"update": keyed(keyRequest.rewrap)}},
	{Pattern: "datakey/{type}/{name}", Ops: ops{"update": keyed(keyRequest.datakey)}},
	{Pattern: "sign/{name}", Ops: ops{"update": keyed(keyRequest.sign)}},
	{Pattern: "sign/{name}/{algorithm}", Ops: ops{"update": keyed(keyRequest.sign)}},
	{Pattern: "verify/{name}", Ops: ops{"update": keyed(keyRequest.verify)}},
	{Pattern: "verify/{name}/{algorithm}", Ops: ops{"update": keyed(keyRequest.verify)}},
	{Pattern: "hmac/{name}", Ops: ops{"update": keyed(keyRequest.hmac)}},
	{Pattern: "hmac/{name}/{algorithm}", Ops: ops{"update": keyed(keyRequest.hmac)}},
	{Pattern: "random", Ops: ops{"update": random}},
	{Pattern: "random/{arg1}", Ops: ops{"update": random}},
	{Pattern: "random/{arg1}/{arg2}", Ops: ops{"update": random}},
	{Pattern: "hash", Ops: ops{"update": hash}},
	{Pattern: "hash/{algorithm}", Ops: ops{"update": hash}},
}

// Serve routes one request.
func (e *Engine) Serve(ctx context.Context, req keeper.EngineRequest) (keeper.EngineResponse, error) {
	f, err := engine.ParseFields(req.Body)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	h, p, ok := paths.Lookup(req.Path, req.Operation)
	if !ok {
		return unrouted(req.Path)
	}
	return h(request{e: e, ctx: ctx, req: req, f: f, p: p})
}

// nameAt is where a path names its key: keys/<n>…, datakey/<kind>/<n>…
var nameAt = map[string]int{"keys": 1, "encrypt": 1, "decrypt": 1, "rewrap": 1, "sign": 1, "verify": 1, "hmac": 1, "datakey": 2, "export": 2}

// unrouted answers a path or operation no row serves; a path that names a
// key with a malformed name is told so, whatever the operation.
func unrouted(path string) (keeper.EngineResponse, error) {
	parts := strings.Split(path, "/")
	if i, ok := nameAt[parts[0]]; ok && len(parts) > i && !keyName.MatchString(parts[i]) {
		return keeper.EngineResponse{}, invalid("invalid key name %q", parts[i])
	}
	return engine.Unsupported()
}

// keyed makes h a handler of a path that names a key, checking the name.
func keyed(h func(keyRequest) (keeper.EngineResponse, error)) handler {
	return func(q request) (keeper.EngineResponse, error) {
		name := q.p["name"]
		if !keyName.MatchString(name) {
			return keeper.EngineResponse{}, invalid("invalid key name %q", name)
		}
		return h(keyRequest{e: q.e, ctx: q.ctx, req: q.req, f: q.f, p: q.p, path: policyPath(q.req.MountUUID, name), name: name})
	}
}

func listKeys(q request) (keeper.EngineResponse, error) {
	return engine.ListKeys(q.ctx, q.e.st, policyPath(q.req.MountUUID, ""))
}
