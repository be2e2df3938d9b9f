package devstack

import (
	"context"
	"path/filepath"

	localkms "github.com/stratumiops/stratumiops/localstack/kms"
)

// DefaultKMSPort is local-kms's port when EphemeralPorts is off.
const DefaultKMSPort = 8410

// startKMS runs local-kms with its keys under the data dir (a temporary one in
// memory mode) and the vault's unseal key under its alias.
func (s *Stack) startKMS(ctx context.Context) error {
	opts := localkms.Options{Port: DefaultKMSPort}
	if s.cfg.EphemeralPorts {
		opts.Port = 0
	}
	if !s.cfg.Memory {
		opts.DataDir = filepath.Join(s.cfg.DataDir, "kms")
	}
	srv, err := localkms.Start(ctx, opts)
	if err != nil {
		return err
	}
	s.kms = srv
	s.endpoints.KMS = srv.URL()
	s.endpoints.KMSKey = localkms.UnsealKeyAlias
	return nil
}
