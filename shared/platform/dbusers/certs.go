package dbusers

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/pki"
)

// Environment of the certificate step (set by infra/stacks in self-hosted mode).
const (
	EnvCASecret = "TLS_CA_SECRET_ARN" // the private CA {cert, key}: this Lambda's only
	EnvServers  = "TLS_SERVERS"       // JSON list of Server
	EnvCACopies = "TLS_CA_COPIES"     // JSON list of secret ARNs that get the CA as field "ca" (and every user's SecretArn)
)

// Renewal margins: a deploy (or an invocation with {"step":"certs"}) issues
// again what expires within them, and keeps the rest.
const (
	RenewCABefore     = 2 * 365 * 24 * time.Hour
	RenewServerBefore = 180 * 24 * time.Hour
)

// Server is one self-hosted server's certificate: its secret {cert, key,
// ca} is read by that server's ECS task only.
type Server struct {
	Name      string   `json:"name"`
	SecretArn string   `json:"secretArn"`
	Names     []string `json:"names"` // DNS names (Cloud Map) the certificate covers
}

// SecretStore reads and replaces JSON secrets.
type SecretStore interface {
	SecretReader
	PutSecretJSON(ctx context.Context, arn string, values map[string]string) error
}

// Certifier keeps the private CA and the servers' certificates in Secrets
// Manager, and copies the CA certificate (public) into the clients' secrets.
type Certifier struct {
	CASecretArn string
	Servers     []Server
	CACopies    []string
	Secrets     SecretStore
	Now         func() time.Time
}

// Apply makes what is missing, expiring or no longer matching (names, CA)
// and keeps the rest; it returns the CA certificate (PEM).
func (c Certifier) Apply(ctx context.Context) (string, error) {
	now := c.now()
	stored, err := c.Secrets.SecretJSON(ctx, c.CASecretArn)
	if err != nil {
		return "", fmt.Errorf("CA secret: %w", err)
	}
	ca := pki.KeyPair{Cert: stored["cert"], Key: stored["key"]}
	if !pki.Current(ca, "", nil, now, RenewCABefore) {
		if ca, err = pki.NewCA("StratumIOps self-hosted CA", now); err != nil {
			return "", err
		}
		if err := c.Secrets.PutSecretJSON(ctx, c.CASecretArn, map[string]string{"cert": ca.Cert, "key": ca.Key}); err != nil {
			return "", fmt.Errorf("CA secret: %w", err)
		}
	}
	for _, s := range c.Servers {
		if err := c.server(ctx, ca, s, now); err != nil {
			return "", err
		}
	}
	for _, arn := range c.CACopies {
		values, err := c.Secrets.SecretJSON(ctx, arn)
		if err != nil {
			return "", fmt.Errorf("copy the CA: %w", err)
		}
		if values["ca"] == ca.Cert {
			continue
		}
		values = maps.Clone(values)
		values["ca"] = ca.Cert
		if err := c.Secrets.PutSecretJSON(ctx, arn, values); err != nil {
			return "", fmt.Errorf("copy the CA: %w", err)
		}
	}
	return ca.Cert, nil
}

func (c Certifier) server(ctx context.Context, ca pki.KeyPair, s Server, now time.Time) error {
	if s.SecretArn == "" || len(s.Names) == 0 {
		return fmt.Errorf("server %q: secretArn and names are required", s.Name)
	}
	stored, err := c.Secrets.SecretJSON(ctx, s.SecretArn)
	if err != nil {
		return fmt.Errorf("certificate of %s: %w", s.Name, err)
	}
	kp := pki.KeyPair{Cert: stored["cert"], Key: stored["key"]}
	if stored["ca"] == ca.Cert && pki.Current(kp, ca.Cert, s.Names, now, RenewServerBefore) {
		return nil
	}
	if kp, err = pki.Issue(ca, s.Names, now); err != nil {
		return fmt.Errorf("certificate of %s: %w", s.Name, err)
	}
	if err := c.Secrets.PutSecretJSON(ctx, s.SecretArn, map[string]string{"cert": kp.Cert, "key": kp.Key, "ca": ca.Cert}); err != nil {
		return fmt.Errorf("certificate of %s: %w", s.Name, err)
	}
	return nil
}

// CA is the stored CA certificate ("" when there is none yet).
func (c Certifier) CA(ctx context.Context) (string, error) {
	stored, err := c.Secrets.SecretJSON(ctx, c.CASecretArn)
	if err != nil {
		return "", fmt.Errorf("CA secret: %w", err)
	}
	return stored["cert"], nil
}

func (c Certifier) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

var errNoCertifier = errors.New("no certificate step configured (TLS_CA_SECRET_ARN unset: not self-hosted)")
