// Package dbusers defines, at deploy time, each function's SurrealDB user in
// the deployed SurrealDB (managed or self-hosted): signed in as root, it
// defines the namespace and each function's database when missing, then
// (re)defines the function's user, of that database only with role
// surreal.UserRole, with the password CloudFormation generated into that
// function's own secret. It runs as the surreal-users custom resource of the
// platform stack (infra/stacks), the only principal that reads root's secret;
// an operator can run it again by invoking it with an empty payload.
//
// In self-hosted mode it also has a certificate step (Certifier: custom
// resource SelfHostedTls, or a payload {"step":"certs"}) that keeps the
// private CA and the TLS certificates of NATS and SurrealDB in Secrets
// Manager, run before either server starts.
package dbusers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// User is one function's SurrealDB user and where its password lives.
type User struct {
	Function  string `json:"function"`
	User      string `json:"user"`
	Database  string `json:"database"`
	SecretArn string `json:"secretArn"` // or its name: Secrets Manager takes either
}

// SecretReader returns a JSON secret's string fields.
type SecretReader interface {
	SecretJSON(ctx context.Context, arn string) (map[string]string, error)
}

// ErrNoRootPassword means root's secret has no password yet: a managed
// SurrealDB's password is entered by a person after the first deploy.
var ErrNoRootPassword = errors.New("root's SurrealDB secret has no pass yet")

// Definer defines Users in the SurrealDB at URL.
type Definer struct {
	URL           string
	Namespace     string
	RootSecretArn string
	Users         []User
	Secrets       SecretReader
	Log           *slog.Logger
	// Wait is how long to keep trying while SurrealDB does not answer (a
	// self-hosted server may still be starting); 0 tries once.
	Wait time.Duration
	// Certs, in self-hosted mode, is the certificate step; the users step
	// then trusts its CA to reach SurrealDB over wss://.
	Certs *Certifier
}

// Apply defines every user; it is idempotent (DEFINE … OVERWRITE).
func (d Definer) Apply(ctx context.Context) error {
	root, err := d.Secrets.SecretJSON(ctx, d.RootSecretArn)
	if err != nil {
		return fmt.Errorf("root's SurrealDB secret: %w", err)
	}
	if root["pass"] == "" {
		return ErrNoRootPassword
	}
	var ca string
	if d.Certs != nil {
		if ca, err = d.Certs.CA(ctx); err != nil {
			return err
		}
	}
	byDB := map[string][]User{}
	for _, u := range d.Users {
		if u.User == "" || u.Database == "" || u.SecretArn == "" {
			return fmt.Errorf("user of function %q: user, database and secretArn are required", u.Function)
		}
		byDB[u.Database] = append(byDB[u.Database], u)
	}
	dbs := make([]string, 0, len(byDB))
	for db := range byDB {
		dbs = append(dbs, db)
	}
	slices.Sort(dbs)
	for _, db := range dbs {
		if err := d.defineIn(ctx, root, ca, db, byDB[db]); err != nil {
			return err
		}
	}
	return nil
}

// defineIn defines users in database db, signed in as root.
func (d Definer) defineIn(ctx context.Context, root map[string]string, ca, db string, users []User) error {
	c := surreal.New(surreal.Config{URL: d.URL, User: root["user"], Pass: root["pass"], Namespace: d.Namespace,
		Database: db, Level: surreal.LevelRoot, CA: ca}, d.Log)
	defer func() { _ = c.Close() }()
	if err := d.reach(ctx, c); err != nil {
		return err
	}
	for _, u := range users {
		s, err := d.Secrets.SecretJSON(ctx, u.SecretArn)
		if err != nil {
			return fmt.Errorf("secret of function %s: %w", u.Function, err)
		}
		if s["pass"] == "" || (s["user"] != "" && s["user"] != u.User) {
			return fmt.Errorf("secret of function %s: want {user: %q, pass: …}", u.Function, u.User)
		}
		if err := surreal.DefineDatabaseUser(ctx, c, u.User, s["pass"]); err != nil {
			return fmt.Errorf("function %s: %w", u.Function, err)
		}
		d.logger().Info("surreal user defined", "function", u.Function, "user", u.User, "database", db)
	}
	return nil
}

// reach pings SurrealDB (which signs in and defines the namespace and
// database) until it answers or Wait has passed.
func (d Definer) reach(ctx context.Context, c *surreal.Client) error {
	deadline := time.Now().Add(d.Wait)
	for {
		err := c.Ping(ctx)
		if err == nil || !errors.Is(err, surreal.ErrUnavailable) || !time.Now().Before(deadline) {
			if err != nil {
				return fmt.Errorf("reach SurrealDB at %s: %w", d.URL, err)
			}
			return nil
		}
		d.logger().Warn("SurrealDB not reachable yet", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}

func (d Definer) logger() *slog.Logger {
	if d.Log == nil {
		return slog.Default()
	}
	return d.Log
}
