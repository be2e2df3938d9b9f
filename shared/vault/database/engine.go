// Package database is SecretumVault's database secrets engine for
// PostgreSQL, with OpenBao's API: connections, dynamic roles whose
// credentials are real logins with a lease, static roles whose password is
// rotated, and the leases themselves (lookup, renew, revoke, the sweep that
// revokes expired ones). It runs as vault-database, the only vault function
// that links a database driver.
package database

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/integrity"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

var invalid = engine.Invalid

// Vault's system defaults when a role sets no TTL.
const (
	defaultLeaseTTL = 768 * time.Hour
	maxLeaseTTL     = 768 * time.Hour
	minRotation     = 5 * time.Second
)

// Engine serves database mounts and owns their leases.
type Engine struct {
	db   *surreal.Client
	st   *storage.Store
	keys *integrity.Keys // MACs lease records
	now  func() time.Time
}

// New returns the engine over the vault's SurrealDB; st seals through
// vault-crypto, from which keys gets the key that MACs leases.
func New(db *surreal.Client, st *storage.Store, keys *integrity.Keys) *Engine {
	return &Engine{db: db, st: st, keys: keys, now: func() time.Time { return time.Now().UTC() }}
}

var objectName = regexp.MustCompile(`^\w([\w.-]*\w)?$`)

// mount is one request's view of a mount.
type mount struct {
	e    *Engine
	ctx  context.Context
	req  keeper.EngineRequest
	uuid string
}

func (m mount) path(p string) string { return "logical/" + m.uuid + "/" + p }

func (m mount) get(p string, v any) (int, error) { return m.e.st.GetJSON(m.ctx, m.path(p), v) }

func (m mount) put(p string, v any) error { return m.e.st.PutJSON(m.ctx, m.path(p), v, -1) }

func (m mount) list(prefix string) (keeper.EngineResponse, error) {
	return engine.ListKeys(m.ctx, m.e.st, m.path(prefix))
}

// Serve routes one request of a database mount.
func (e *Engine) Serve(ctx context.Context, req keeper.EngineRequest) (keeper.EngineResponse, error) {
	f, err := engine.ParseFields(req.Body)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	m := mount{e: e, ctx: ctx, req: req, uuid: req.MountUUID}
	kind, name, _ := strings.Cut(req.Path, "/")
	op := req.Operation
	if name == "" {
		if op == "list" || op == "read" {
			switch kind {
			case "config":
				return m.list("config/")
			case "roles":
				return m.list("role/")
			case "static-roles":
				return m.list("static-role/")
			}
		}
		return engine.Unsupported()
	}
	if !objectName.MatchString(name) {
		return keeper.EngineResponse{}, invalid("invalid name %q", name)
	}
	switch {
	case kind == "config" && op == "read":
		return m.readConfig(name)
	case kind == "config" && op == "update":
		return m.writeConfig(name, f)
	case kind == "config" && op == "delete":
		return m.remove("config/" + name)
	case kind == "rotate-root" && op == "update":
		return m.rotateRoot(name)
	case kind == "roles" && op == "read":
		return m.readRole(name)
	case kind == "roles" && op == "update":
		return m.writeRole(name, f)
	case kind == "roles" && op == "delete":
		return m.remove("role/" + name)
	case kind == "creds" && op == "read":
		return m.creds(name)
	case kind == "static-roles" && op == "read":
		return m.readStatic(name, false)
	case kind == "static-roles" && op == "update":
		return m.writeStatic(name, f)
	case kind == "static-roles" && op == "delete":
		return m.deleteStatic(name)
	case kind == "static-creds" && op == "read":
		return m.readStatic(name, true)
	case kind == "rotate-role" && op == "update":
		if err := m.rotateStatic(name); err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.NoContent()
	}
	return engine.Unsupported()
}

func (m mount) remove(p string) (keeper.EngineResponse, error) {
	if err := m.e.st.Delete(m.ctx, m.path(p)); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}

// ---- connections ---------------------------------------------------------

func (m mount) loadConnection(name string) (*connection, error) {
	c := &connection{}
	rev, err := m.get("config/"+name, c)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		return nil, invalid("unknown database connection %q", name)
	}
	return c, nil
}

func (m mount) readConfig(name string) (keeper.EngineResponse, error) {
	c := &connection{}
	rev, err := m.get("config/"+name, c)
	if err != nil || rev == 0 {
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.NotFound()
	}
	// The password is never shown, nor one written into connection_url.
	return engine.OK(map[string]any{
		"plugin_name":        c.PluginName,
		"connection_details": map[string]any{"connection_url": maskURL(c.ConnectionURL), "username": c.Username},
		"allowed_roles":      nonNil(c.AllowedRoles), "verify_connection": c.VerifyConnection,
		"root_credentials_rotate_statements": nonNil(c.RootRotationStatements), "password_policy": "", "plugin_version": "",
	})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (m mount) writeConfig(name string, f engine.Fields) (keeper.EngineResponse, error) {
	c := &connection{VerifyConnection: true}
	if _, err := m.get("config/"+name, c); err != nil {
		return keeper.EngineResponse{}, err
	}
	errs := []error{f.Set("plugin_name", &c.PluginName), f.Set("connection_url", &c.ConnectionURL),
		f.Set("username", &c.Username), f.Set("password", &c.Password), f.Set("allowed_roles", &c.AllowedRoles),
		f.Set("root_rotation_statements", &c.RootRotationStatements), f.Set("verify_connection", &c.VerifyConnection)}
	if err := engine.First(errs...); err != nil {
		return keeper.EngineResponse{}, err
	}
	switch {
	case c.PluginName == "":
		return keeper.EngineResponse{}, invalid("plugin_name is required")
	case c.PluginName != Plugin:
		return keeper.EngineResponse{}, invalid("unsupported plugin_name %q: this vault serves %s", c.PluginName, Plugin)
	case c.ConnectionURL == "":
		return keeper.EngineResponse{}, invalid("connection_url is required")
	}
	if c.VerifyConnection {
		conn, err := c.connect(m.ctx)
		if err == nil {
			err = conn.Ping(m.ctx)
			_ = conn.Close(m.ctx)
		}
		if err != nil {
			return keeper.EngineResponse{}, invalid("error creating database object: error verifying connection: %v", err)
		}
	}
	if err := m.put("config/"+name, c); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}

// rotateRoot gives the connection's user a new password only the vault knows.
func (m mount) rotateRoot(name string) (keeper.EngineResponse, error) {
	c, err := m.loadConnection(name)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if c.Username == "" {
		return keeper.EngineResponse{}, invalid("the connection has no username to rotate")
	}
	conn, err := c.connect(m.ctx)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	defer conn.Close(m.ctx)
	c.PendingPassword = newPassword()
	if err := m.put("config/"+name, c); err != nil {
		return keeper.EngineResponse{}, err
	}
	stmts := c.RootRotationStatements
	if len(stmts) == 0 {
		stmts = defaultRotation
	}
	if err := runStatements(m.ctx, conn, stmts, map[string]string{"name": c.Username, "username": c.Username, "password": c.PendingPassword}); err != nil {
		c.PendingPassword = ""
		_ = m.put("config/"+name, c)
		return keeper.EngineResponse{}, statementError("rotate root credentials", err)
	}
	c.Password, c.PendingPassword = c.PendingPassword, ""
	if err := m.put("config/"+name, c); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}

// ---- dynamic roles --------------------------------------------------------

type role struct {
	DBName               string        `json:"db_name"`
	CreationStatements   []string      `json:"creation_statements"`
	RevocationStatements []string      `json:"revocation_statements"`
	RollbackStatements   []string      `json:"rollback_statements"`
	RenewStatements      []string      `json:"renew_statements"`
	DefaultTTL           time.Duration `json:"default_ttl"`
	MaxTTL               time.Duration `json:"max_ttl"`
}

// ttls are the role's effective default and maximum lease TTLs.
// ttls are a lease's default and maximum TTL: the role's, within the
// mount's tuned ones (sys/mounts/<path>/tune), within the system's.
func (r *role) ttls(req keeper.EngineRequest) (time.Duration, time.Duration) {
	mountDef, mountMax := time.Duration(req.DefaultLeaseTTL)*time.Second, time.Duration(req.MaxLeaseTTL)*time.Second
	if mountMax == 0 {
		mountMax = maxLeaseTTL
	}
	if mountDef == 0 {
		mountDef = defaultLeaseTTL
	}
	def, max := r.DefaultTTL, r.MaxTTL
	if max == 0 || max > mountMax {
		max = mountMax
	}
	if def == 0 {
		def = mountDef
	}
	return min(def, max), max
}

func (m mount) readRole(name string) (keeper.EngineResponse, error) {
	r := &role{}
	rev, err := m.get("role/"+name, r)
	if err != nil || rev == 0 {
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.NotFound()
	}
	return engine.OK(map[string]any{
		"db_name": r.DBName, "creation_statements": nonNil(r.CreationStatements),
		"revocation_statements": nonNil(r.RevocationStatements), "rollback_statements": nonNil(r.RollbackStatements),
		"renew_statements": nonNil(r.RenewStatements), "default_ttl": int64(r.DefaultTTL.Seconds()),
		"max_ttl": int64(r.MaxTTL.Seconds()), "credential_type": "password",
	})
}

func (m mount) writeRole(name string, f engine.Fields) (keeper.EngineResponse, error) {
	r := &role{}
	if _, err := m.get("role/"+name, r); err != nil {
		return keeper.EngineResponse{}, err
	}
	errs := []error{f.Set("db_name", &r.DBName), f.Set("creation_statements", &r.CreationStatements),
		f.Set("revocation_statements", &r.RevocationStatements), f.Set("rollback_statements", &r.RollbackStatements),
		f.Set("renew_statements", &r.RenewStatements), f.Set("default_ttl", &r.DefaultTTL), f.Set("max_ttl", &r.MaxTTL)}
	if err := engine.First(errs...); err != nil {
		return keeper.EngineResponse{}, err
	}
	switch {
	case r.DBName == "":
		return keeper.EngineResponse{}, invalid("db_name is required")
	case len(splitStatements(r.CreationStatements)) == 0:
		return keeper.EngineResponse{}, invalid("creation_statements is required")
	case r.MaxTTL > 0 && r.DefaultTTL > r.MaxTTL:
		return keeper.EngineResponse{}, invalid("ttl cannot be greater than max_ttl")
	}
	if err := m.put("role/"+name, r); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}

func allowed(c *connection, roleName string) bool {
	return slices.Contains(c.AllowedRoles, "*") || slices.Contains(c.AllowedRoles, roleName)
}

// creds makes a real login in the database for the role and leases it.
func (m mount) creds(name string) (keeper.EngineResponse, error) {
	r := &role{}
	rev, err := m.get("role/"+name, r)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if rev == 0 {
		return keeper.EngineResponse{}, invalid("unknown role: %s", name)
	}
	c, err := m.loadConnection(r.DBName)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if !allowed(c, name) {
		return keeper.EngineResponse{}, invalid("%q is not an allowed role", name)
	}
	now := m.e.now()
	ttl, maxTTL := r.ttls(m.req)
	username, password := newUsername(m.req.DisplayName, name, now), newPassword()
	vars := map[string]string{"name": username, "username": username, "password": password, "expiration": expiration(now.Add(ttl))}
	conn, err := c.connect(m.ctx)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	defer conn.Close(m.ctx)
	if err := runStatements(m.ctx, conn, r.CreationStatements, vars); err != nil {
		return keeper.EngineResponse{}, statementError("error creating the database user", err)
	}
	revocation := r.RevocationStatements
	if len(splitStatements(revocation)) == 0 {
		revocation = defaultRevocation
	}
	l := lease{LeaseID: m.req.MountPath + "creds/" + name + "/" + keeper.NewUUID(), Engine: "database",
		MountUUID: m.uuid, MountPath: m.req.MountPath, Role: name, DBName: r.DBName, Username: username,
		RevocationStatements: revocation, RenewStatements: nonNil(r.RenewStatements), TokenHash: m.req.TokenHash,
		IssueTime: now, ExpireTime: now.Add(ttl), MaxExpireTime: now.Add(maxTTL), DefaultTTLSeconds: int64(ttl.Seconds())}
	if err := m.e.saveLease(m.ctx, l); err != nil {
		// No lease, no login: drop what was just made.
		if rerr := runStatements(m.ctx, conn, revocation, vars); rerr != nil {
			err = errors.Join(err, fmt.Errorf("and dropping %s again failed: %w", username, rerr))
		}
		return keeper.EngineResponse{}, err
	}
	res, err := engine.OK(map[string]any{"username": username, "password": password})
	res.LeaseID, res.LeaseDuration, res.Renewable = l.LeaseID, int(ttl.Seconds()), true
	return res, err
}

// ---- static roles ---------------------------------------------------------

type staticRole struct {
	DBName             string        `json:"db_name"`
	Username           string        `json:"username"`
	RotationPeriod     time.Duration `json:"rotation_period"`
	RotationStatements []string      `json:"rotation_statements"`
	Password           string        `json:"password"`
	LastRotation       time.Time     `json:"last_rotation"`
}

func (m mount) readStatic(name string, withPassword bool) (keeper.EngineResponse, error) {
	s := &staticRole{}
	rev, err := m.get("static-role/"+name, s)
	if err != nil || rev == 0 {
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.NotFound()
	}
	ttl := max(0, s.LastRotation.Add(s.RotationPeriod).Sub(m.e.now()))
	out := map[string]any{"db_name": s.DBName, "username": s.Username, "rotation_period": int64(s.RotationPeriod.Seconds()),
		"last_vault_rotation": s.LastRotation.Format(time.RFC3339Nano), "ttl": int64(ttl.Seconds()), "credential_type": "password"}
	if withPassword {
		out["password"] = s.Password
		delete(out, "db_name")
	} else {
		out["rotation_statements"] = nonNil(s.RotationStatements)
	}
	return engine.OK(out)
}

func (m mount) writeStatic(name string, f engine.Fields) (keeper.EngineResponse, error) {
	s := &staticRole{}
	rev, err := m.get("static-role/"+name, s)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	oldUser := s.Username
	errs := []error{f.Set("db_name", &s.DBName), f.Set("username", &s.Username), f.Set("rotation_period", &s.RotationPeriod),
		f.Set("rotation_statements", &s.RotationStatements)}
	if err := engine.First(errs...); err != nil {
		return keeper.EngineResponse{}, err
	}
	switch {
	case s.DBName == "":
		return keeper.EngineResponse{}, invalid("db_name is required")
	case s.Username == "":
		return keeper.EngineResponse{}, invalid("username is required")
	case rev != 0 && oldUser != s.Username:
		return keeper.EngineResponse{}, invalid("cannot update a static role's username")
	case s.RotationPeriod < minRotation:
		return keeper.EngineResponse{}, invalid("rotation_period must be %s or more", minRotation)
	}
	c, err := m.loadConnection(s.DBName)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if !allowed(c, name) {
		return keeper.EngineResponse{}, invalid("%q is not an allowed role", name)
	}
	if rev == 0 {
		// A new static role takes over the login at once: rotate now.
		if err := m.setStaticPassword(name, s, c); err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.NoContent()
	}
	if err := m.put("static-role/"+name, s); err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := m.e.scheduleRotation(m.ctx, m.uuid, name, s.LastRotation.Add(s.RotationPeriod)); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}

func (m mount) deleteStatic(name string) (keeper.EngineResponse, error) {
	if err := m.e.st.Delete(m.ctx, m.path("static-role/"+name)); err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := m.e.unscheduleRotation(m.ctx, m.uuid, name); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}

func (m mount) rotateStatic(name string) error {
	s := &staticRole{}
	rev, err := m.get("static-role/"+name, s)
	if err != nil {
		return err
	}
	if rev == 0 {
		return invalid("unknown static role: %s", name)
	}
	c, err := m.loadConnection(s.DBName)
	if err != nil {
		return err
	}
	return m.setStaticPassword(name, s, c)
}

// setStaticPassword sets a new password in the database, then stores it.
func (m mount) setStaticPassword(name string, s *staticRole, c *connection) error {
	conn, err := c.connect(m.ctx)
	if err != nil {
		return err
	}
	defer conn.Close(m.ctx)
	password := newPassword()
	stmts := s.RotationStatements
	if len(splitStatements(stmts)) == 0 {
		stmts = defaultRotation
	}
	if err := runStatements(m.ctx, conn, stmts, map[string]string{"name": s.Username, "username": s.Username, "password": password}); err != nil {
		return statementError("rotate the static role's password", err)
	}
	s.Password, s.LastRotation = password, m.e.now()
	if err := m.put("static-role/"+name, s); err != nil {
		return err
	}
	return m.e.scheduleRotation(m.ctx, m.uuid, name, s.LastRotation.Add(s.RotationPeriod))
}
