package vault

import (
	"context"
	"net/http"
	"strings"
)

// policyRequest authorizes a request on sys/policies/<kind>/<name> and
// answers it when it is the list (no name, or LIST): answered says so. The
// Cedar and the HCL (acl) paths share it.
func (s *Server) policyRequest(w http.ResponseWriter, r *http.Request, kind, name string) (answered bool, err error) {
	ctx := r.Context()
	if _, err := s.authorized(ctx, r, capabilityOf(r), strings.TrimSuffix("sys/policies/"+kind+"/"+name, "/"), "sys/"); err != nil {
		return true, err
	}
	if name != "" && !isList(r) {
		return false, nil
	}
	if !isList(r) && r.Method != http.MethodGet {
		return true, errUnsupported
	}
	names, err := s.policies.list(ctx)
	if err != nil {
		return true, err
	}
	respond(w, http.StatusOK, map[string]any{"keys": names, "policies": names}, nil, "system")
	return true, nil
}

func (s *Server) policy(w http.ResponseWriter, r *http.Request, name string) error {
	if answered, err := s.policyRequest(w, r, "cedar", name); answered {
		return err
	}
	ctx := r.Context()
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
