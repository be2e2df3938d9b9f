package pki

import (
	"context"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

type handler func(m mount) (keeper.EngineResponse, error)

// ops is a row's handlers by operation.
type ops = map[string]handler

// paths is the PKI path table, as OpenBao's builtin/logical/pki declares
// it: one file per group (path_root.go, path_roles.go, path_issue.go…).
var paths = engine.Paths[handler]{
	{Pattern: "root/generate/{kind}", Ops: ops{"update": mount.generateRoot}},
	{Pattern: "root", Ops: ops{"delete": mount.deleteRoot}},
	{Pattern: "root/sign-intermediate", Ops: ops{"update": mount.signIntermediate}},
	{Pattern: "intermediate/generate/{kind}", Ops: ops{"update": mount.generateIntermediate}},
	{Pattern: "intermediate/set-signed", Ops: ops{"update": mount.setSigned}},
	{Pattern: "roles", Ops: ops{"list": mount.listRoles, "read": mount.listRoles}},
	{Pattern: "roles/{name*}", Ops: ops{"read": mount.readRole, "update": mount.writeRole, "delete": mount.deleteRole}},
	{Pattern: "roles/{name*}", Ops: ops{engine.AnyOp: mount.roleUnsupported}},
	{Pattern: "issue/{role*}", Ops: ops{"update": mount.issue}},
	{Pattern: "sign/{role*}", Ops: ops{"update": mount.sign}},
	{Pattern: "revoke", Ops: ops{"update": mount.revoke}},
	{Pattern: "crl/rotate", Ops: ops{"read": mount.rotateCRL, "update": mount.rotateCRL}},
	{Pattern: "certs", Ops: ops{"list": mount.listCerts, "read": mount.listCerts}},
	// Public (engine.PublicPKIPath): read without a token.
	{Pattern: "ca", Ops: ops{"read": mount.fetchCA}},
	{Pattern: "ca/pem", Ops: ops{"read": mount.fetchCA}},
	{Pattern: "ca_chain", Ops: ops{"read": mount.fetchCA}},
	{Pattern: "cert/ca", Ops: ops{"read": mount.fetchCA}},
	{Pattern: "cert/ca_chain", Ops: ops{"read": mount.fetchCA}},
	{Pattern: "crl", Ops: ops{"read": mount.fetchCRL}},
	{Pattern: "crl/pem", Ops: ops{"read": mount.fetchCRL}},
	{Pattern: "cert/crl", Ops: ops{"read": mount.fetchCRL}},
	{Pattern: "cert/{serial}", Ops: ops{"read": mount.fetchCert}},
}

// Serve routes one request.
func (e *Engine) Serve(ctx context.Context, req keeper.EngineRequest) (keeper.EngineResponse, error) {
	f, err := engine.ParseFields(req.Body)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	h, p, ok := paths.Lookup(req.Path, req.Operation)
	if !ok {
		return engine.Unsupported()
	}
	return h(mount{e: e, ctx: ctx, prefix: "logical/" + req.MountUUID + "/", route: req.Path, f: f, p: p,
		defTTL: time.Duration(req.DefaultLeaseTTL) * time.Second, maxTTL: time.Duration(req.MaxLeaseTTL) * time.Second})
}
