package vault

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// SysHandler serves /v1/sys/* (the vault-sys function). Its table is built
// here, not in NewServer, so that vault-secrets links none of the sys routes.
func (s *Server) SysHandler() http.Handler {
	s.sysPaths = s.sysTable()
	return s.handler("/v1/sys/", s.sys)
}

// changesKeptState reports whether a write to a sys path changes state that
// instances keep for storage.ReadTTL: the seal, mounts, audit devices and
// policies. (An unseal or an init needs no wait: a sealed vault's state is
// never kept; leases and audit hashes are not kept at all.)
func changesKeptState(path string) bool {
	return path == "seal" || isSnapshotPath(path) || strings.HasPrefix(path, "mounts/") || strings.HasPrefix(path, "audit/") ||
		strings.HasPrefix(path, "policies/cedar/") || strings.HasPrefix(path, "policies/acl/")
}

// sysCall is one request to a sys path.
type sysCall struct {
	w    http.ResponseWriter
	r    *http.Request
	path string        // below /v1/sys/
	p    engine.Params // what the row's pattern captured
}

type sysHandler func(c sysCall) error

// sysOps is a row's handlers by HTTP method (engine.AnyOp: every method,
// for handlers that authorize the caller before they look at the method).
type sysOps = map[string]sysHandler

// sysTable is the sys routes' path table, the same kind as the engines'
// (engine.Paths), matched in order.
func (s *Server) sysTable() engine.Paths[sysHandler] {
	return engine.Paths[sysHandler]{
		{Pattern: "init", Ops: sysOps{"GET": plain(s.initialized), "PUT": plain(s.init), "POST": plain(s.init)}},
		{Pattern: "seal-status", Ops: sysOps{"GET": plain(s.sealStatus)}},
		{Pattern: "unseal", Ops: sysOps{"PUT": plain(s.unseal), "POST": plain(s.unseal)}},
		{Pattern: "seal", Ops: sysOps{"PUT": plain(s.seal), "POST": plain(s.seal)}},
		{Pattern: "health", Ops: sysOps{"GET": plain(s.health), "HEAD": plain(s.health)}},
		{Pattern: "mounts", Ops: sysOps{"GET": plain(s.listMounts)}},
		// What Vault's and OpenBao's CLIs read around a call (sys_compat.go).
		{Pattern: "internal/ui/mounts/{path*}", Ops: every(captured("path", s.uiMount))},
		{Pattern: "leader", Ops: every(plain(s.leader))},
		{Pattern: "mounts/{path*}/tune", Ops: every(func(c sysCall) error { return s.tune(c.w, c.r, strings.Trim(c.p["path"], "/")) })},
		{Pattern: "capabilities", Ops: every(whole(s.capabilitiesAPI))},
		{Pattern: "capabilities-self", Ops: every(whole(s.capabilitiesAPI))},
		{Pattern: "capabilities-accessor", Ops: every(whole(s.capabilitiesAPI))},
		{Pattern: "auth", Ops: every(whole(s.authMethods))},
		{Pattern: "auth/{path*}", Ops: every(whole(s.authMethods))},
		{Pattern: "host-info", Ops: every(plain(s.hostInfo))},
		{Pattern: "policies/acl", Ops: every(captured("name", s.aclPolicy))},
		{Pattern: "policies/acl/{name*}", Ops: every(captured("name", s.aclPolicy))},
		// The rest of the API.
		{Pattern: "mounts/{path*}", Ops: every(captured("path", s.mount))},
		{Pattern: "audit", Ops: every(whole(s.auditAPI))},
		{Pattern: "audit/{path*}", Ops: every(whole(s.auditAPI))},
		{Pattern: "audit-hash/{path*}", Ops: every(whole(s.auditAPI))},
		{Pattern: "audit-verify", Ops: every(whole(s.auditAPI))},
		{Pattern: "leases/{path*}", Ops: every(whole(s.leaseAPI))},
		{Pattern: snapshotPath, Ops: every(whole(s.snapshotAPI))},
		{Pattern: snapshotForcePath, Ops: every(whole(s.snapshotAPI))},
		{Pattern: "policies/cedar", Ops: every(captured("name", s.policy))},
		{Pattern: "policies/cedar/{name*}", Ops: every(captured("name", s.policy))},
	}
}

func every(h sysHandler) sysOps { return sysOps{engine.AnyOp: h} }

// plain serves a row by a handler of the request alone.
func plain(h func(http.ResponseWriter, *http.Request) error) sysHandler {
	return func(c sysCall) error { return h(c.w, c.r) }
}

// whole serves a row by a handler of a path group, given the sys path.
func whole(h func(http.ResponseWriter, *http.Request, string) error) sysHandler {
	return func(c sysCall) error { return h(c.w, c.r, c.path) }
}

// captured serves a row by a handler given what the pattern captured as name.
func captured(name string, h func(http.ResponseWriter, *http.Request, string) error) sysHandler {
	return func(c sysCall) error { return h(c.w, c.r, c.p[name]) }
}

func (s *Server) sys(w http.ResponseWriter, r *http.Request, path string) (err error) {
	ctx := r.Context()
	write := r.Method == http.MethodPut || r.Method == http.MethodPost
	if (write || r.Method == http.MethodDelete) && changesKeptState(path) {
		defer func() {
			// What this changed shows on this instance's next request, and on
			// every instance's by the time the caller has the answer.
			s.snapshots.Clear()
			if err == nil {
				storage.Settle(ctx)
			}
		}()
	}
	h, params, ok := s.sysPaths.Lookup(path, r.Method)
	if !ok {
		return httpErrorUnsupportedPath(path)
	}
	return h(sysCall{w: w, r: r, path: path, p: params})
}

func httpErrorUnsupportedPath(path string) error {
	e := *errNotFound
	e.Message = "unsupported path: sys/" + path
	return &e
}

// initialized answers GET sys/init.
func (s *Server) initialized(w http.ResponseWriter, r *http.Request) error {
	st, err := s.crypto.Status(r.Context())
	if err != nil {
		return apiError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"initialized": st.Initialized})
	return nil
}

func (s *Server) init(w http.ResponseWriter, r *http.Request) error {
	if err := s.checkInitGate(r); err != nil {
		return err
	}
	var body struct {
		SecretShares    int `json:"secret_shares"`
		SecretThreshold int `json:"secret_threshold"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	res, err := s.crypto.Init(r.Context(), body.SecretShares, body.SecretThreshold)
	if err != nil {
		return apiError(err)
	}
	root := &Token{Hash: res.RootTokenHash, Accessor: keeper.NewToken()[2:], Policies: []string{"root"},
		Meta: map[string]string{}, DisplayName: "root", CreationTime: now(), Renewable: false, Orphan: true,
		Path: "auth/token/root"}
	if err := s.tokens.store(r.Context(), root, res.RecordKey); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"keys": res.Keys, "keys_base64": res.KeysBase64, "root_token": res.RootToken})
	return nil
}

// sealStatus answers sys/seal-status.
func (s *Server) sealStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := s.crypto.Status(r.Context())
	if err != nil {
		return apiError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, sealStatusOf(st))
	return nil
}

func (s *Server) unseal(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Key   string `json:"key"`
		Reset bool   `json:"reset"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	st, err := s.crypto.Unseal(r.Context(), body.Key, body.Reset)
	if err != nil {
		return apiError(err)
	}
	if !st.Sealed {
		// The records of a vault from before the current integrity format
		// are MAC'd once, at the unseal after the upgrade (remac.go).
		if err := s.remacRecords(r.Context()); err != nil {
			return apiError(fmt.Errorf("unsealed, but the one-time re-MAC of older records failed (unseal again to retry): %w", err))
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, sealStatusOf(st))
	return nil
}

func (s *Server) seal(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	if _, err := s.authorized(ctx, r, capSudo, "sys/seal", "sys/"); err != nil {
		return err
	}
	if err := s.crypto.Seal(ctx); err != nil {
		return apiError(err)
	}
	noContent(w)
	return nil
}

func sealStatusOf(st keeper.Status) map[string]any {
	out := map[string]any{
		"type": "shamir", "initialized": st.Initialized, "sealed": st.Sealed, "t": st.T, "n": st.N,
		"progress": st.Progress, "nonce": st.Nonce, "version": Version, "build_date": "2026-11-25T00:00:00Z",
		"migration": false, "recovery_seal": false, "storage_type": "surrealdb",
	}
	if !st.Sealed {
		out["cluster_name"], out["cluster_id"] = "secretumvault", "secretumvault"
	}
	return out
}

// health answers as Vault: 200 active, 501 not initialised, 503 sealed; the
// codes can be overridden with ?sealedcode=, ?uninitcode=, ?activecode=.
func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	st, err := s.crypto.Status(r.Context())
	if err != nil {
		return apiError(err)
	}
	code := queryCode(r, "activecode", http.StatusOK)
	switch {
	case !st.Initialized:
		code = queryCode(r, "uninitcode", http.StatusNotImplemented)
	case st.Sealed:
		code = queryCode(r, "sealedcode", http.StatusServiceUnavailable)
	}
	if r.Method == http.MethodHead {
		w.WriteHeader(code)
		return nil
	}
	httpapi.WriteJSON(w, code, map[string]any{
		"initialized": st.Initialized, "sealed": st.Sealed, "standby": false, "performance_standby": false,
		"replication_performance_mode": "disabled", "replication_dr_mode": "disabled",
		"server_time_utc": now().Unix(), "version": Version, "cluster_name": "secretumvault", "cluster_id": "secretumvault",
	})
	return nil
}

func queryCode(r *http.Request, name string, def int) int {
	if v := r.URL.Query().Get(name); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 100 && n <= 599 {
			return n
		}
	}
	return def
}
