package bus_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/pki"
)

// tlsServer runs NATS with JetStream, token auth and TLS from a certificate
// for localhost signed by a fresh CA, as the self-hosted server runs; it
// returns its tls:// URL and the CA (PEM).
func tlsServer(t *testing.T, token string) (url, ca string) {
	t.Helper()
	authority, err := pki.NewCA("test CA", time.Now())
	must(t, err)
	kp, err := pki.Issue(authority, []string{"localhost"}, time.Now())
	must(t, err)
	cert, err := tls.X509KeyPair([]byte(kp.Cert), []byte(kp.Key))
	must(t, err)
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(), Authorization: token,
		TLS: true, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}})
	must(t, err)
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(srv.Shutdown)
	_, port, err := net.SplitHostPort(srv.Addr().String())
	must(t, err)
	return "tls://localhost:" + port, authority.Cert
}

func TestConnectTrustsNATSCA(t *testing.T) {
	url, ca := tlsServer(t, "s3cret")
	t.Setenv("NATS_TOKEN", "s3cret")
	ctx := context.Background()

	t.Setenv("NATS_CA", ca)
	b, err := bus.Connect(ctx, url, "tls-ok", nil)
	must(t, err)
	defer b.Close()
	if err := b.Ping(ctx); err != nil {
		t.Fatalf("with NATS_CA: %v", err)
	}

	// The system roots do not know the private CA, nor does another CA.
	other, err := pki.NewCA("other CA", time.Now())
	must(t, err)
	for name, root := range map[string]string{"no NATS_CA": "", "another CA": other.Cert} {
		t.Setenv("NATS_CA", root)
		b, err := bus.Connect(ctx, url, "tls-refused", nil)
		if err != nil {
			continue // refused outright is fine too
		}
		err = b.Ping(ctx)
		b.Close()
		if !errors.Is(err, bus.ErrUnavailable) {
			t.Errorf("%s: Ping = %v, want unavailable (certificate not trusted)", name, err)
		}
	}

	t.Setenv("NATS_CA", "not a pem")
	if _, err := bus.Connect(ctx, url, "tls-bad", nil); err == nil {
		t.Error("NATS_CA without a certificate: Connect succeeded")
	}
}
