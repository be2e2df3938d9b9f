package vault

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/leases"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// SysHandler serves /v1/sys/* (the vault-sys function).
func (s *Server) SysHandler() http.Handler {
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
	switch {
	case path == "init" && r.Method == http.MethodGet:
		st, err := s.crypto.Status(ctx)
		if err != nil {
			return apiError(err)
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"initialized": st.Initialized})
		return nil
	case path == "init" && write:
		return s.init(w, r)
	case path == "seal-status" && r.Method == http.MethodGet:
		st, err := s.crypto.Status(ctx)
		if err != nil {
			return apiError(err)
		}
		httpapi.WriteJSON(w, http.StatusOK, sealStatus(st))
		return nil
	case path == "unseal" && write:
		var body struct {
			Key   string `json:"key"`
			Reset bool   `json:"reset"`
		}
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		st, err := s.crypto.Unseal(ctx, body.Key, body.Reset)
		if err != nil {
			return apiError(err)
		}
		httpapi.WriteJSON(w, http.StatusOK, sealStatus(st))
		return nil
	case path == "seal" && write:
		if _, err := s.authorized(ctx, r, capSudo, "sys/seal", "sys/"); err != nil {
			return err
		}
		if err := s.crypto.Seal(ctx); err != nil {
			return apiError(err)
		}
		noContent(w)
		return nil
	case path == "health" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return s.health(w, r)
	case path == "mounts" && r.Method == http.MethodGet:
		if _, err := s.authorized(ctx, r, capRead, "sys/mounts", "sys/"); err != nil {
			return err
		}
		list, err := s.mounts.all(ctx)
		if err != nil {
			return err
		}
		data := map[string]any{"sys/": map[string]any{"type": "system", "description": "system endpoints used for control, policy and debugging",
			"accessor": "system", "uuid": "system", "options": nil, "local": false, "seal_wrap": false}}
		for _, m := range list {
			data[m.Path] = m.describe()
		}
		// Vault answers with the mounts both at the top level and under "data".
		out := map[string]any{"data": data, "request_id": w.Header().Get("X-Request-Id")}
		for k, v := range data {
			out[k] = v
		}
		httpapi.WriteJSON(w, http.StatusOK, out)
		return nil
	case sysCompatPath(path):
		return s.sysCompat(w, r, path)
	case strings.HasPrefix(path, "mounts/"):
		return s.mount(w, r, strings.TrimPrefix(path, "mounts/"))
	case path == "audit" || strings.HasPrefix(path, "audit/") || strings.HasPrefix(path, "audit-hash/") || path == "audit-verify":
		return s.auditAPI(w, r, path)
	case strings.HasPrefix(path, "leases/"):
		return s.leaseAPI(w, r, path)
	case isSnapshotPath(path):
		return s.snapshotAPI(w, r, path)
	case path == "policies/cedar" || strings.HasPrefix(path, "policies/cedar/"):
		return s.policy(w, r, strings.TrimPrefix(strings.TrimPrefix(path, "policies/cedar"), "/"))
	}
	return httpErrorUnsupportedPath(path)
}

func httpErrorUnsupportedPath(path string) error {
	e := *errNotFound
	e.Message = "unsupported path: sys/" + path
	return &e
}

func (s *Server) init(w http.ResponseWriter, r *http.Request) error {
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
	if err := s.tokens.store(r.Context(), root); err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"keys": res.Keys, "keys_base64": res.KeysBase64, "root_token": res.RootToken})
	return nil
}

func sealStatus(st keeper.Status) map[string]any {
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

func (s *Server) mount(w http.ResponseWriter, r *http.Request, path string) error {
	ctx := r.Context()
	if path == "" {
		return badRequest("missing mount path")
	}
	if _, err := s.authorized(ctx, r, capabilityOf(r), "sys/mounts/"+path, "sys/"); err != nil {
		return err
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut:
		var body mountRequest
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		if err := s.mounts.mount(ctx, path, body); err != nil {
			return err
		}
		noContent(w)
		return nil
	case http.MethodDelete:
		// Vault revokes a mount's leases before it goes.
		if m, rest, ok, err := s.mounts.find(ctx, strings.Trim(path, "/")); err == nil && ok && rest == "" && m.Type == "database" {
			if _, err := s.leases.Call(ctx, leases.Request{Op: "revoke_prefix", Prefix: m.Path}); err != nil {
				return apiError(err)
			}
		}
		if err := s.mounts.unmount(ctx, s.st, path); err != nil {
			return err
		}
		noContent(w)
		return nil
	case http.MethodGet:
		m, rest, ok, err := s.mounts.find(ctx, path)
		if err != nil {
			return err
		}
		if !ok || rest != "" {
			return errNotFound
		}
		respond(w, http.StatusOK, m.describe(), nil, "system")
		return nil
	}
	return errUnsupported
}

func (s *Server) policy(w http.ResponseWriter, r *http.Request, name string) error {
	ctx := r.Context()
	if _, err := s.authorized(ctx, r, capabilityOf(r), strings.TrimSuffix("sys/policies/cedar/"+name, "/"), "sys/"); err != nil {
		return err
	}
	if name == "" || isList(r) {
		if !isList(r) && r.Method != http.MethodGet {
			return errUnsupported
		}
		names, err := s.policies.list(ctx)
		if err != nil {
			return err
		}
		respond(w, http.StatusOK, map[string]any{"keys": names, "policies": names}, nil, "system")
		return nil
	}
	switch r.Method {
	case http.MethodGet:
		if name == "root" {
			respond(w, http.StatusOK, map[string]any{"name": "root", "policy": "// root: every capability on every path"}, nil, "system")
			return nil
		}
		p, err := s.policies.get(ctx, name)
		if err != nil {
			return err
		}
		if p == nil {
			return errNotFound
		}
		respond(w, http.StatusOK, map[string]any{"name": p.Name, "policy": p.Text}, nil, "system")
		return nil
	}
	return s.changePolicy(w, r, name, s.policies.put)
}

// changePolicy writes (POST, PUT: the body's "policy", through put) or
// deletes a named policy; the Cedar and the HCL paths differ only in put.
func (s *Server) changePolicy(w http.ResponseWriter, r *http.Request, name string, put func(ctx context.Context, name, text string) error) error {
	switch r.Method {
	case http.MethodPost, http.MethodPut:
		var body struct {
			Policy string `json:"policy"`
		}
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		if err := put(r.Context(), name, body.Policy); err != nil {
			return err
		}
	case http.MethodDelete:
		if err := s.policies.delete(r.Context(), name); err != nil {
			return err
		}
	default:
		return errUnsupported
	}
	noContent(w)
	return nil
}

// auditAPI serves sys/audit (list, enable, disable), sys/audit-hash/<path> and
// sys/audit-verify (ours: walks the hash chain and reports the first break).
func (s *Server) auditAPI(w http.ResponseWriter, r *http.Request, path string) error {
	ctx := r.Context()
	capability := capabilityOf(r)
	if path != "audit" || r.Method != http.MethodGet {
		capability = capSudo
	}
	if _, err := s.authorized(ctx, r, capability, "sys/"+path, "sys/"); err != nil {
		return err
	}
	switch {
	case path == "audit" && r.Method == http.MethodGet:
		list, err := s.audit.devices(ctx)
		if err != nil {
			return err
		}
		data := map[string]any{}
		for _, d := range list {
			data[d.Path] = map[string]any{"type": d.Type, "description": d.Description, "path": d.Path, "options": map[string]string{}, "local": false}
		}
		respond(w, http.StatusOK, data, nil, "system")
		return nil
	case strings.HasPrefix(path, "audit/") && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var body auditDevice
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		if err := s.audit.enable(ctx, strings.TrimPrefix(path, "audit/"), body); err != nil {
			return err
		}
		noContent(w)
		return nil
	case strings.HasPrefix(path, "audit/") && r.Method == http.MethodDelete:
		if err := s.audit.disable(ctx, strings.TrimPrefix(path, "audit/")); err != nil {
			return err
		}
		noContent(w)
		return nil
	case strings.HasPrefix(path, "audit-hash/") && (r.Method == http.MethodPut || r.Method == http.MethodPost):
		var body struct {
			Input string `json:"input"`
		}
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		hashes, err := s.crypto.AuditHMAC(ctx, []string{body.Input})
		if err != nil {
			return apiError(err)
		}
		respond(w, http.StatusOK, map[string]any{"hash": hashes[0]}, nil, "system")
		return nil
	case path == "audit-verify" && r.Method == http.MethodGet:
		rep, err := s.audit.verify(ctx)
		if err != nil {
			return err
		}
		respond(w, http.StatusOK, rep, nil, "system")
		return nil
	}
	return errUnsupported
}
