package vault

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/stratumiops/stratumiops/shared/vault/leases"
)

// leaseAPI serves sys/leases/{lookup,renew,revoke,revoke-prefix}; the leases
// themselves live with vault-database.
func (s *Server) leaseAPI(w http.ResponseWriter, r *http.Request, path string) error {
	ctx := r.Context()
	if r.Method != http.MethodPut && r.Method != http.MethodPost {
		return errUnsupported
	}
	op, arg, _ := strings.Cut(strings.TrimPrefix(path, "leases/"), "/")
	capability := capUpdate
	if op == "revoke-prefix" || op == "revoke-force" {
		capability = capSudo
	}
	if _, err := s.authorized(ctx, r, capability, "sys/leases/"+op, "sys/"); err != nil {
		return err
	}
	var body struct {
		LeaseID   string `json:"lease_id"`
		Increment any    `json:"increment"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	if body.LeaseID == "" {
		body.LeaseID = arg
	}
	req := leases.Request{LeaseID: body.LeaseID}
	switch op {
	case "lookup":
		req.Op = "lookup"
	case "renew":
		inc, err := parseDuration(body.Increment)
		if err != nil {
			return badRequest("invalid 'increment': %v", err)
		}
		req.Op, req.Increment = "renew", inc
	case "revoke":
		req.Op = "revoke"
	case "revoke-prefix":
		if arg == "" {
			return badRequest("missing prefix")
		}
		req.Op, req.Prefix, req.LeaseID = "revoke_prefix", arg, ""
	default:
		return httpErrorUnsupportedPath(path)
	}
	if req.Op != "revoke_prefix" && req.LeaseID == "" {
		return badRequest("missing lease_id")
	}
	res, err := s.leases.Call(ctx, req)
	if err != nil {
		return apiError(err)
	}
	switch op {
	case "lookup":
		l := res.Lease
		var lastRenewal any
		if l.LastRenewal != nil {
			lastRenewal = vaultTime(*l.LastRenewal)
		}
		respond(w, http.StatusOK, map[string]any{"id": l.ID, "issue_time": vaultTime(l.IssueTime), "expire_time": vaultTime(l.ExpireTime),
			"last_renewal": lastRenewal, "renewable": l.Renewable, "ttl": l.TTL}, nil, "")
	case "renew":
		writeEnvelope(w, http.StatusOK, envelope{LeaseID: res.Lease.ID, Renewable: res.Lease.Renewable,
			LeaseDuration: int(res.Lease.TTL), Warnings: res.Warnings})
	default:
		noContent(w)
	}
	return nil
}

// revokeLeasesOf revokes the leases of revoked tokens. The tokens are gone
// already; a lease that cannot be revoked now is revoked by vault-database's
// sweep, which looks for leases whose token no longer exists.
func (s *Server) revokeLeasesOf(ctx context.Context, tokenHashes []string) {
	if _, err := s.leases.Call(ctx, leases.Request{Op: "revoke_tokens", Tokens: tokenHashes}); err != nil {
		slog.WarnContext(ctx, "revoking the leases of revoked tokens failed; the sweep will retry", "err", err)
	}
}
