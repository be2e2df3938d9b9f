package vault

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// The sys paths that Vault's and OpenBao's CLIs read before or after the
// call a user asked for: the KV preflight (sys/internal/ui/mounts/<path>),
// sys/leader (after every seal-status), mount tuning, capabilities, the auth
// method table and host information. Their rows are in sysTable.

// uiMount answers the CLI's KV preflight: the mount that serves path, with
// its type and options (options.version tells KV v1 from v2) and its path.
// As in OpenBao, a path under no mount, or a mount the token has no
// capability under, is a 403, so that this cannot be used to list mounts.
func (s *Server) uiMount(w http.ResponseWriter, r *http.Request, path string) error {
	if r.Method != http.MethodGet {
		return errUnsupported
	}
	ctx := r.Context()
	t, err := s.tokens.authenticate(ctx, r)
	if err != nil {
		return err
	}
	path = strings.Trim(path, "/")
	m, _, ok, err := s.mounts.find(ctx, path)
	if err != nil {
		return err
	}
	if !ok {
		return errPermissionDenied
	}
	if access, err := s.hasMountAccess(ctx, r, t, m.Path); err != nil || !access {
		if err == nil {
			err = errPermissionDenied
		}
		return err
	}
	data := m.describe()
	data["path"] = m.Path
	respond(w, http.StatusOK, data, nil, "system")
	return nil
}

// hasMountAccess is OpenBao's test for a mount's preflight: the token has a
// capability on the mount's own path, or one of its HCL policies grants a
// capability (not a deny) on a path that can fall under the mount. Cedar
// conditions cannot be walked as HCL paths are, so a token with a policy
// written as Cedar passes whenever the mount exists, as it did before.
func (s *Server) hasMountAccess(ctx context.Context, r *http.Request, t *Token, mountPath string) (bool, error) {
	caps, err := s.capabilitiesOn(ctx, r, t, mountPath)
	if err != nil || !slices.Contains(caps, "deny") {
		return err == nil, err
	}
	rules, cedar, err := s.policies.hclRules(ctx, t.Policies)
	if err != nil || cedar {
		return cedar && err == nil, err
	}
	under := newHCLPattern(mountPath + "*")
	for _, rule := range rules {
		if len(rule.caps) == 0 || slices.Contains(rule.caps, "deny") {
			continue
		}
		p := newHCLPattern(rule.pattern)
		if strings.HasPrefix(strings.TrimSuffix(rule.pattern, "*"), mountPath) || p.plusCount > 0 && p.mayOverlap(under) {
			return true, nil
		}
	}
	return false, nil
}

// leader is Vault's sys/leader for a vault without HA standbys: every
// instance serves, none is a standby. A sealed vault answers 503 "Vault is
// sealed", which the CLI's status output expects.
func (s *Server) leader(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return errUnsupported
	}
	st, err := s.crypto.Status(r.Context())
	if err != nil {
		return apiError(err)
	}
	if st.Sealed {
		return errSealed
	}
	// OpenBao without HA storage answers ha_enabled alone (the rest are omitempty).
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"ha_enabled": false})
	return nil
}

// systemMaxTTL is Vault's default for default_lease_ttl and max_lease_ttl
// when a mount sets neither (32 days).
const systemMaxTTL = 768 * time.Hour

// tuneRequest is the body of sys/mounts/<path>/tune; the fields Vault has
// and this vault does not are refused when set.
type tuneRequest struct {
	DefaultLeaseTTL any               `json:"default_lease_ttl"`
	MaxLeaseTTL     any               `json:"max_lease_ttl"`
	Description     *string           `json:"description"`
	Options         map[string]string `json:"options"`
	ForceNoCache    bool              `json:"force_no_cache"`
	AuditReq        []string          `json:"audit_non_hmac_request_keys"`
	AuditResp       []string          `json:"audit_non_hmac_response_keys"`
	Listing         string            `json:"listing_visibility"`
	Passthrough     []string          `json:"passthrough_request_headers"`
	AllowedHeaders  []string          `json:"allowed_response_headers"`
	TokenType       string            `json:"token_type"`
	ManagedKeys     []string          `json:"allowed_managed_keys"`
	PluginVersion   string            `json:"plugin_version"`
	UserLockout     map[string]any    `json:"user_lockout_config"`
}

// unsupported names the set fields this vault does not implement.
func (t tuneRequest) unsupported() []string {
	var out []string
	for name, set := range map[string]bool{
		"force_no_cache": t.ForceNoCache, "audit_non_hmac_request_keys": len(t.AuditReq) > 0,
		"audit_non_hmac_response_keys": len(t.AuditResp) > 0, "listing_visibility": t.Listing != "",
		"passthrough_request_headers": len(t.Passthrough) > 0, "allowed_response_headers": len(t.AllowedHeaders) > 0,
		"token_type": t.TokenType != "", "allowed_managed_keys": len(t.ManagedKeys) > 0,
		"plugin_version": t.PluginVersion != "", "user_lockout_config": len(t.UserLockout) > 0,
	} {
		if set {
			out = append(out, name)
		}
	}
	return out
}

// tune reads (GET) or changes (POST/PUT) a mount's lease TTLs and
// description, apart from creating a mount at sys/mounts/<path>.
func (s *Server) tune(w http.ResponseWriter, r *http.Request, path string) error {
	ctx := r.Context()
	if _, err := s.authorized(ctx, r, capabilityOf(r), "sys/mounts/"+path+"/tune", "sys/"); err != nil {
		return err
	}
	m, rest, ok, err := s.mounts.find(ctx, path)
	if err != nil {
		return err
	}
	if !ok || rest != "" {
		return badRequest("cannot tune %q: no mount at this path", path+"/")
	}
	switch r.Method {
	case http.MethodGet:
		respond(w, http.StatusOK, m.tuneView(), nil, "system")
		return nil
	case http.MethodPost, http.MethodPut:
		var body tuneRequest
		if err := decodeBody(r, &body); err != nil {
			return err
		}
		if err := m.applyTune(body); err != nil {
			return err
		}
		if err := s.mounts.saveTune(ctx, m); err != nil {
			return err
		}
		noContent(w)
		return nil
	}
	return errUnsupported
}

// tuneView is the mount's effective configuration, as Vault's tune read.
func (m Mount) tuneView() map[string]any {
	def, mx := m.Config.DefaultLeaseTTL, m.Config.MaxLeaseTTL
	if mx == 0 {
		mx = int64(systemMaxTTL.Seconds())
	}
	if def == 0 {
		def = min(int64(systemMaxTTL.Seconds()), mx)
	}
	out := map[string]any{"default_lease_ttl": def, "max_lease_ttl": mx, "force_no_cache": false, "description": m.Description}
	if len(m.Options) > 0 {
		out["options"] = m.Options // as OpenBao, only a mount with options has the key
	}
	return out
}

// applyTune sets what body asks on m; "system" (or 0) means the default.
func (m *Mount) applyTune(body tuneRequest) error {
	if bad := body.unsupported(); len(bad) > 0 {
		return badRequest("unsupported tune parameters: %s", strings.Join(bad, ", "))
	}
	for name, dst := range map[string]struct {
		v   any
		out *int64
	}{"default_lease_ttl": {body.DefaultLeaseTTL, &m.Config.DefaultLeaseTTL}, "max_lease_ttl": {body.MaxLeaseTTL, &m.Config.MaxLeaseTTL}} {
		if dst.v == nil || dst.v == "" {
			continue
		}
		if dst.v == "system" {
			*dst.out = 0
			continue
		}
		d, err := parseDuration(dst.v)
		if err != nil {
			return badRequest("invalid %s: %v", name, err)
		}
		*dst.out = int64(d.Seconds())
	}
	if m.Config.MaxLeaseTTL > 0 && m.Config.DefaultLeaseTTL > m.Config.MaxLeaseTTL {
		return badRequest("default_lease_ttl (%ds) cannot exceed max_lease_ttl (%ds)", m.Config.DefaultLeaseTTL, m.Config.MaxLeaseTTL)
	}
	if body.Description != nil {
		m.Description = *body.Description
	}
	for k, v := range body.Options {
		if k == "version" && m.Type == "kv" && v != "" && v != m.Options["version"] {
			return badRequest("changing the KV version of %s from %s to %s is not supported", m.Path, m.Options["version"], v)
		}
		if k != "version" {
			return badRequest("unsupported mount option %q", k)
		}
	}
	return nil
}

func (ms *mounts) saveTune(ctx context.Context, m Mount) error {
	if err := ms.seal(ctx, &m); err != nil {
		return err
	}
	_, err := surreal.Query[any](ctx, ms.db, "UPDATE $id SET config = $c, description = $d, mac = $mac",
		map[string]any{"id": recordID("mounts", m.Path), "c": m.Config, "d": m.Description, "mac": m.MAC})
	if err != nil {
		return fmt.Errorf("tune %s: %w", m.Path, err)
	}
	return nil
}
