package devstack

import (
	"context"
	"crypto/rand"
	"fmt"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// defineDatabaseUsers gives each function of the catalog that uses a database
// its own SurrealDB user, of that database only, with a password generated
// for this run. The devstack itself stays root (migrations, health checks);
// functions, in-process or emulated, log in as their user.
func (s *Stack) defineDatabaseUsers(ctx context.Context) error {
	s.dbPasswords = map[string]string{}
	for _, f := range catalog.Functions {
		if f.Database == "" {
			continue
		}
		root, err := s.db(ctx, f.Database)
		if err != nil {
			return err
		}
		pass := rand.Text()
		if err := surreal.DefineDatabaseUser(ctx, root, f.SurrealUser(), pass); err != nil {
			return fmt.Errorf("function %s: %w", f.Name, err)
		}
		s.dbPasswords[f.Name] = pass
	}
	return nil
}

// functionEnv is the SurrealDB part of an emulated function's environment.
func (s *Stack) functionEnv(f catalog.Function) []string {
	if f.Database == "" {
		return nil
	}
	return []string{"SURREAL_USER=" + f.SurrealUser(), "SURREAL_PASS=" + s.dbPasswords[f.Name],
		"SURREAL_LEVEL=" + surreal.LevelDatabase}
}

// functionDB is a client of f's database signed in as f's user, for an
// in-process function; Close closes it.
func (s *Stack) functionDB(f catalog.Function) *surreal.Client {
	if f.Database == "" {
		return nil
	}
	cfg := surreal.Config{URL: s.endpoints.Surreal, User: f.SurrealUser(), Pass: s.dbPasswords[f.Name],
		Namespace: surreal.Namespace, Database: f.Database, Level: surreal.LevelDatabase}
	c := surreal.New(cfg, s.cfg.Log)
	s.fnDBs = append(s.fnDBs, c)
	return c
}
