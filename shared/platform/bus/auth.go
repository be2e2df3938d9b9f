package bus

import (
	"crypto/tls"
	"fmt"
	"os"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nkeys"

	"github.com/stratumiops/stratumiops/shared/platform/pki"
)

// AuthFromEnv returns the NATS authentication the environment gives:
// NATS_CREDS, the content of a .creds file (user JWT and NKey seed, as
// Synadia Cloud issues them: what the functions get from Secrets Manager),
// NATS_CREDS_FILE, the path of one, or NATS_TOKEN (the self-hosted server's
// token). None: no option (the devstack's embedded server). Connect applies it.
func AuthFromEnv() ([]nats.Option, error) {
	switch {
	case os.Getenv("NATS_CREDS") != "":
		opt, err := credsOption([]byte(os.Getenv("NATS_CREDS")))
		if err != nil {
			return nil, fmt.Errorf("NATS_CREDS: %w", err)
		}
		return []nats.Option{opt}, nil
	case os.Getenv("NATS_CREDS_FILE") != "":
		return []nats.Option{nats.UserCredentials(os.Getenv("NATS_CREDS_FILE"))}, nil
	case os.Getenv("NATS_TOKEN") != "":
		return []nats.Option{nats.Token(os.Getenv("NATS_TOKEN"))}, nil
	}
	return nil, nil
}

// credsOption reads a decorated .creds file's JWT and seed, refusing one
// that lacks either, and signs the server's nonce with the seed.
func credsOption(creds []byte) (nats.Option, error) {
	jwt, err := nkeys.ParseDecoratedJWT(creds)
	if err != nil || jwt == "" {
		return nil, fmt.Errorf("no user JWT in the creds: %v", err)
	}
	kp, err := nkeys.ParseDecoratedNKey(creds)
	if err != nil {
		return nil, fmt.Errorf("no NKey seed in the creds: %w", err)
	}
	seed, err := kp.Seed()
	if err != nil {
		return nil, fmt.Errorf("creds seed: %w", err)
	}
	return nats.UserJWTAndSeed(jwt, string(seed)), nil
}

// TLSFromEnv returns the TLS option NATS_CA asks for: NATS_CA, PEM (the
// self-hosted server's private CA), is then the only root the server's
// certificate may chain to, and the connection requires TLS. Unset: no
// option (tls:// URLs trust the system roots, nats:// stays plain).
func TLSFromEnv() ([]nats.Option, error) {
	ca := os.Getenv("NATS_CA")
	if ca == "" {
		return nil, nil
	}
	roots, err := pki.Pool(ca)
	if err != nil {
		return nil, fmt.Errorf("NATS_CA: %w", err)
	}
	return []nats.Option{nats.Secure(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})}, nil
}
