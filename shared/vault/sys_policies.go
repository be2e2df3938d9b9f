package vault

import (
	"context"
	"net/http"
	"strings"
)

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
