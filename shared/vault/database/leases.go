package database

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/leases"
	"github.com/stratumiops/stratumiops/shared/vault/tokentree"
)

// lease is a leases record: what revoking the login needs, never its password.
type lease struct {
	LeaseID              string     `json:"lease_id"`
	Engine               string     `json:"engine"`
	MountUUID            string     `json:"mount_uuid"`
	MountPath            string     `json:"mount_path"`
	Role                 string     `json:"role"`
	DBName               string     `json:"db_name"`
	Username             string     `json:"username"`
	RevocationStatements []string   `json:"revocation_statements"`
	RenewStatements      []string   `json:"renew_statements"`
	TokenHash            string     `json:"token_hash"`
	IssueTime            time.Time  `json:"issue_time"`
	LastRenewal          *time.Time `json:"last_renewal,omitempty"`
	ExpireTime           time.Time  `json:"expire_time"`
	MaxExpireTime        time.Time  `json:"max_expire_time"`
	DefaultTTLSeconds    int64      `json:"default_ttl_seconds"`
	LastError            *string    `json:"last_error,omitempty"`
	MAC                  string     `json:"mac,omitempty"` // see lease_mac.go
}

func leaseRecord(id string) models.RecordID { return models.NewRecordID("leases", id) }

func (e *Engine) saveLease(ctx context.Context, l lease) error {
	if err := e.sealLease(ctx, &l); err != nil {
		return fmt.Errorf("save lease %s: %w", l.LeaseID, err)
	}
	if _, err := surreal.Query[any](ctx, e.db, "UPSERT $id CONTENT $l", map[string]any{"id": leaseRecord(l.LeaseID), "l": l}); err != nil {
		return fmt.Errorf("save lease %s: %w", l.LeaseID, err)
	}
	return nil
}

func (e *Engine) loadLease(ctx context.Context, id string) (*lease, error) {
	if id == "" {
		return nil, invalid("missing lease_id")
	}
	l, err := surreal.Query[*lease](ctx, e.db, "SELECT * OMIT id FROM ONLY $id", map[string]any{"id": leaseRecord(id)})
	if err != nil {
		return nil, fmt.Errorf("read lease %s: %w", id, err)
	}
	if l != nil {
		if err := e.checkLease(ctx, l); err != nil {
			return nil, invalid("%v", err)
		}
	}
	return l, nil
}

func (e *Engine) describe(l *lease) *leases.Lease {
	return &leases.Lease{ID: l.LeaseID, IssueTime: l.IssueTime, ExpireTime: l.ExpireTime, LastRenewal: l.LastRenewal,
		Renewable: true, TTL: int64(max(0, l.ExpireTime.Sub(e.now())).Seconds())}
}

// renew extends a lease by increment (the role's default TTL when 0), never
// past its max TTL; capping is a warning, as in Vault.
func (e *Engine) renew(ctx context.Context, id string, increment time.Duration) (leases.Response, error) {
	l, err := e.loadLease(ctx, id)
	if err != nil {
		return leases.Response{}, err
	}
	if l == nil {
		return leases.Response{}, invalid("lease not found or lease is not renewable")
	}
	now := e.now()
	if increment <= 0 {
		increment = time.Duration(l.DefaultTTLSeconds) * time.Second
	}
	var warnings []string
	expire := now.Add(increment)
	if expire.After(l.MaxExpireTime) {
		warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the effective max_ttl of %q; TTL value is capped accordingly",
			increment.String(), l.MaxExpireTime.Sub(now).Round(time.Second).String()))
		expire = l.MaxExpireTime
	}
	if len(splitStatements(l.RenewStatements)) > 0 {
		if err := e.onConnection(ctx, l, func(m mount, c *connection) error {
			conn, err := c.connect(ctx)
			if err != nil {
				return err
			}
			defer conn.Close(ctx)
			err = runStatements(ctx, conn, l.RenewStatements, map[string]string{"name": l.Username, "username": l.Username, "expiration": expiration(expire)})
			return statementError("renew the database user", err)
		}); err != nil {
			return leases.Response{}, err
		}
	}
	l.ExpireTime, l.LastRenewal = expire, &now
	if err := e.saveLease(ctx, *l); err != nil {
		return leases.Response{}, err
	}
	return leases.Response{Lease: e.describe(l), Warnings: warnings}, nil
}

// onConnection runs f with the connection the lease's login lives in.
func (e *Engine) onConnection(ctx context.Context, l *lease, f func(mount, *connection) error) error {
	m := mount{e: e, ctx: ctx, uuid: l.MountUUID}
	c, err := m.loadConnection(l.DBName)
	if err != nil {
		return err
	}
	return f(m, c)
}

// revoke drops the lease's login and then the lease. An unknown lease is
// already revoked.
func (e *Engine) revoke(ctx context.Context, l *lease) error {
	err := e.onConnection(ctx, l, func(m mount, c *connection) error {
		conn, err := c.connect(ctx)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		err = runStatements(ctx, conn, l.RevocationStatements, map[string]string{"name": l.Username, "username": l.Username})
		if err != nil {
			return statementError("revoke the database user", err)
		}
		return nil
	})
	var inv *keeper.InvalidError
	if errors.As(err, &inv) && inv.Msg == fmt.Sprintf("unknown database connection %q", l.DBName) {
		err = nil // the connection is gone, and with it what the login could reach
	}
	if err != nil {
		msg := err.Error()
		l.LastError = &msg
		_ = e.saveLease(ctx, *l)
		return fmt.Errorf("revoke lease %s: %w", l.LeaseID, err)
	}
	if _, err := surreal.Query[any](ctx, e.db, "DELETE $id", map[string]any{"id": leaseRecord(l.LeaseID)}); err != nil {
		return fmt.Errorf("delete lease %s: %w", l.LeaseID, err)
	}
	return nil
}

// revokeWhere revokes every lease the query selects; it goes on past a
// failure and reports all of them.
func (e *Engine) revokeWhere(ctx context.Context, where string, vars map[string]any) (int, error) {
	list, err := surreal.Query[[]lease](ctx, e.db, "SELECT * OMIT id FROM leases WHERE "+where, vars)
	if err != nil {
		return 0, fmt.Errorf("find leases: %w", err)
	}
	var errs []error
	n := 0
	for i := range list {
		if err := e.checkLease(ctx, &list[i]); err != nil {
			// Refused: its statements never run. It stays for whoever
			// investigates, and fails every run that selects it.
			errs = append(errs, fmt.Errorf("revoke lease %s: %w", list[i].LeaseID, err))
			continue
		}
		if err := e.revoke(ctx, &list[i]); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// sweep revokes expired tokens (with the tokens they created), leases that
// expired or whose token is gone or expired, and rotates static roles that
// are due. It is vault-database's scheduled work.
func (e *Engine) sweep(ctx context.Context, log *slog.Logger) error {
	// Expired tokens go first, with their descendants, so that their leases
	// go below in the same run.
	tokens, terr := tokentree.SweepExpired(ctx, e.db)
	if len(tokens) > 0 {
		log.Info("sweep revoked expired tokens", "count", len(tokens))
	}
	ctx, err := e.keys.Bind(ctx)
	if err != nil {
		return errors.Join(terr, err)
	}
	n, err := e.revokeWhere(ctx, `expire_time <= time::now()
		OR !record::exists(type::record('tokens', token_hash))
		OR (type::record('tokens', token_hash).expire_time ?? d'9999-01-01T00:00:00Z') <= time::now()`, nil)
	if n > 0 {
		log.Info("sweep revoked leases", "count", n)
	}
	err = errors.Join(terr, err)
	due, derr := surreal.Query[[]struct {
		MountUUID string `json:"mount_uuid"`
		Role      string `json:"role"`
	}](ctx, e.db, "SELECT mount_uuid, role FROM static_rotations WHERE next_rotation <= time::now()", nil)
	if derr != nil {
		return errors.Join(err, fmt.Errorf("find static roles to rotate: %w", derr))
	}
	for _, d := range due {
		m := mount{e: e, ctx: ctx, uuid: d.MountUUID}
		if rerr := m.rotateStatic(d.Role); rerr != nil {
			err = errors.Join(err, fmt.Errorf("rotate static role %s: %w", d.Role, rerr))
		}
	}
	return err
}

func rotationRecord(mountUUID, role string) models.RecordID {
	return models.NewRecordID("static_rotations", mountUUID+"/"+role)
}

func (e *Engine) scheduleRotation(ctx context.Context, mountUUID, role string, at time.Time) error {
	_, err := surreal.Query[any](ctx, e.db, "UPSERT $id CONTENT { mount_uuid: $m, role: $r, next_rotation: $at }",
		map[string]any{"id": rotationRecord(mountUUID, role), "m": mountUUID, "r": role, "at": at})
	if err != nil {
		return fmt.Errorf("schedule rotation of %s: %w", role, err)
	}
	return nil
}

func (e *Engine) unscheduleRotation(ctx context.Context, mountUUID, role string) error {
	if _, err := surreal.Query[any](ctx, e.db, "DELETE $id", map[string]any{"id": rotationRecord(mountUUID, role)}); err != nil {
		return fmt.Errorf("unschedule rotation of %s: %w", role, err)
	}
	return nil
}

// scheduledEvent is the part of EventBridge's "Scheduled Event" that tells it apart.
type scheduledEvent struct {
	Source     string `json:"source"`
	DetailType string `json:"detail-type"`
}

// Handler is vault-database's entry point: the vault functions' requests
// (leases.Request), and EventBridge's scheduled event, which sweeps.
func (e *Engine) Handler(log *slog.Logger) invoke.Handler {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var ev scheduledEvent
		if json.Unmarshal(payload, &ev) == nil && ev.Source == "aws.events" {
			if err := e.sweep(ctx, log); err != nil {
				var sealed keeper.SealedError
				if errors.As(err, &sealed) {
					return []byte(`{"swept":false,"sealed":true}`), nil
				}
				return nil, err
			}
			return []byte(`{"swept":true}`), nil
		}
		var req leases.Request
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, invalid("malformed vault-database request: %v", err)
		}
		if req.Generation != 0 {
			ctx = keeper.WithGeneration(ctx, req.Generation)
		}
		res, err := e.serve(ctx, req)
		if err != nil {
			return nil, keeper.TypedError(err)
		}
		return json.Marshal(res)
	}
}

func (e *Engine) serve(ctx context.Context, req leases.Request) (leases.Response, error) {
	switch req.Op {
	case "engine":
		if req.Engine == nil {
			return leases.Response{}, invalid("engine request without a body")
		}
		res, err := e.Serve(ctx, *req.Engine)
		return leases.Response{Engine: &res}, err
	case "lookup":
		l, err := e.loadLease(ctx, req.LeaseID)
		if err != nil {
			return leases.Response{}, err
		}
		if l == nil {
			return leases.Response{}, invalid("invalid lease")
		}
		return leases.Response{Lease: e.describe(l)}, nil
	case "renew":
		return e.renew(ctx, req.LeaseID, req.Increment)
	case "revoke":
		l, err := e.loadLease(ctx, req.LeaseID)
		if err != nil || l == nil {
			return leases.Response{}, err
		}
		return leases.Response{Revoked: 1}, e.revoke(ctx, l)
	case "revoke_prefix":
		if req.Prefix == "" {
			return leases.Response{}, invalid("missing prefix")
		}
		n, err := e.revokeWhere(ctx, "string::starts_with(lease_id, $p)", map[string]any{"p": req.Prefix})
		return leases.Response{Revoked: n}, err
	case "revoke_tokens":
		if len(req.Tokens) == 0 {
			return leases.Response{}, nil
		}
		n, err := e.revokeWhere(ctx, "token_hash IN $t", map[string]any{"t": req.Tokens})
		return leases.Response{Revoked: n}, err
	case "remac":
		n, err := e.remacLeases(ctx)
		return leases.Response{Remacked: n}, err
	}
	return leases.Response{}, invalid("unknown vault-database operation %q", req.Op)
}
