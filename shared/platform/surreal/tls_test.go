package surreal_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/shared/platform/pki"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// The SurrealDB client over wss:// trusts SURREAL_CA alone when it is set
// (the self-hosted server's private CA), and the system roots otherwise.
func TestTLSTrustsOnlyTheConfiguredCA(t *testing.T) {
	ctx := context.Background()
	wss, ca := localsurreal.TLSFront(t, surrealURL)
	dial := func(url, root string) error {
		c := surreal.New(surreal.Config{URL: url, User: "root", Pass: "root", Namespace: surreal.Namespace,
			Database: "t_tls", CA: root, Timeout: 5 * time.Second}, nil)
		defer func() { _ = c.Close() }()
		return c.Ping(ctx)
	}
	if err := dial(wss, ca); err != nil {
		t.Fatalf("wss with SURREAL_CA: %v", err)
	}
	// Queries keep working on the relayed connection.
	c := surreal.New(surreal.Config{URL: wss, User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: "t_tls", CA: ca}, nil)
	defer func() { _ = c.Close() }()
	got, err := surreal.Query[int](ctx, c, "RETURN 40 + 2", nil)
	if err != nil || got != 42 {
		t.Fatalf("query over TLS = %v, %v", got, err)
	}

	other, err := pki.NewCA("other CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for name, root := range map[string]string{"system roots": "", "another CA": other.Cert} {
		err := dial(wss, root)
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("%s: Ping = %v, want a certificate error", name, err)
		}
		if !errors.Is(err, surreal.ErrUnavailable) {
			t.Errorf("%s: %v is not ErrUnavailable", name, err)
		}
	}
	if err := dial(surrealURL, ca); err == nil || !strings.Contains(err.Error(), "not wss") {
		t.Errorf("SURREAL_CA with ws://: %v, want a refusal", err)
	}
	if err := dial(wss, "not a pem"); err == nil || !strings.Contains(err.Error(), "SURREAL_CA") {
		t.Errorf("SURREAL_CA without a certificate: %v", err)
	}
}
