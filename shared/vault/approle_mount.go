package vault

import (
	"net/http"

	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// mount is the method as sys/auth lists it.
func (cfg *approleConfig) mount() map[string]any {
	return authMount("approle", cfg.Description, cfg.Accessor, cfg.UUID)
}

// approleMount serves sys/auth/approle (sub: "" or "tune"): enable, read,
// disable. Disabling, as in Vault, drops the roles and secret_ids and
// revokes every token the method issued.
func (s *Server) approleMount(w http.ResponseWriter, r *http.Request, sub string) error {
	ctx := r.Context()
	cfg, err := s.approleEnabled(ctx)
	if err != nil {
		return err
	}
	switch {
	case r.Method == http.MethodGet && (sub == "" || sub == "tune"):
		if cfg == nil {
			return badRequest("no auth engine at approle/")
		}
		data := cfg.mount()
		if sub == "tune" {
			data = authTune(cfg.Description)
		}
		respond(w, http.StatusOK, data, nil, "system")
		return nil
	case sub == "" && (r.Method == http.MethodPost || r.Method == http.MethodPut):
		return s.approleEnable(w, r, cfg)
	case sub == "" && r.Method == http.MethodDelete:
		// Every time, enabled or not: a disable retried after a failure,
		// or after a login that was in flight, revokes what is left.
		if err := s.approleDisable(r); err != nil {
			return err
		}
		noContent(w)
		return nil
	}
	return errUnsupported
}

func (s *Server) approleEnable(w http.ResponseWriter, r *http.Request, cfg *approleConfig) error {
	var body struct {
		Type        string `json:"type"`
		Description string `json:"description"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.Type != "approle" {
		return badRequest("auth method %q at approle/ is not supported: approle/ takes type \"approle\"", body.Type)
	}
	if cfg != nil {
		return badRequest("path is already in use at approle/")
	}
	cfg = &approleConfig{Accessor: "auth_approle_" + keeper.NewUUID()[:8], UUID: keeper.NewUUID(), Description: body.Description}
	// Rev 0 creates: of two concurrent enables one wins, the other is told.
	if err := s.st.Put(r.Context(), storage.Write{Path: approleConfigPath(), Data: mustJSON(cfg)}); err != nil {
		if err == storage.ErrConflict {
			return badRequest("path is already in use at approle/")
		}
		return err
	}
	noContent(w)
	return nil
}

func (s *Server) approleDisable(r *http.Request) error {
	ctx := r.Context()
	if err := s.st.DeletePrefix(ctx, approlePrefix); err != nil {
		return err
	}
	return s.tokens.revokeIssuedAt(ctx, approlePrefix+"login")
}
