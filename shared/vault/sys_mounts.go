package vault

import (
	"net/http"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault/leases"
)

// listMounts answers GET sys/mounts.
func (s *Server) listMounts(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
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
