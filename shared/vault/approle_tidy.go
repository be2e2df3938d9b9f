package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// approleTidy is Vault's auth/approle/tidy/secret-id: it deletes the
// secret_ids that expired (login already refuses them; tidy takes back
// their storage). Vault starts it in the background and answers 202; it
// runs here within the request (a role's secret_ids are read in one round
// trip) and answers 202 with how many it removed.
func (s *Server) approleTidy(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	names, err := s.st.List(ctx, approlePrefix+"role/")
	if err != nil {
		return err
	}
	expired := 0
	for _, name := range names {
		if strings.HasSuffix(name, "/") {
			continue
		}
		role, _, err := s.approleRole(ctx, name)
		if err != nil {
			return err
		}
		if role == nil {
			continue // deleted meanwhile: its delete takes its secret_ids
		}
		n, err := s.approleTidyRole(ctx, name, role)
		if err != nil {
			return fmt.Errorf("tidy role %s: %w", name, err)
		}
		expired += n
	}
	slog.InfoContext(ctx, "approle tidy", "roles", len(names), "expired_secret_ids", expired)
	writeEnvelope(w, http.StatusAccepted, envelope{MountType: "approle", Warnings: []string{
		fmt.Sprintf("Tidy operation done: %d expired secret_ids removed.", expired)}})
	return nil
}

// approleTidyRole deletes the expired secret_ids of one role, and returns how many.
func (s *Server) approleTidyRole(ctx context.Context, name string, role *approleRole) (int, error) {
	dir := role.secretDir(name)
	keys, err := s.st.List(ctx, dir)
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	paths := make([]string, len(keys))
	for i, k := range keys {
		paths[i] = dir + k
	}
	got, err := s.st.Get(ctx, paths...)
	if err != nil {
		return 0, err
	}
	now, removed := time.Now(), 0
	for path, entry := range got {
		var sec approleSecret
		if err := json.Unmarshal(entry.Data, &sec); err != nil {
			return removed, fmt.Errorf("secret_id record %s: %w", path, err)
		}
		if !sec.expired(now) {
			continue
		}
		if err := s.st.Delete(ctx, path, role.accessorDir(name)+sec.Accessor); err != nil {
			return removed, err
		}
		removed++
	}
	return removed, nil
}
