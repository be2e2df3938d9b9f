package vault

import (
	"net/http"
	"strings"
)

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
