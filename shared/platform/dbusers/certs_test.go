package dbusers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/shared/platform/dbusers"
	"github.com/stratumiops/stratumiops/shared/platform/pki"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// memSecrets is Secrets Manager as a map; puts counts the writes by ARN.
type memSecrets struct {
	mu     sync.Mutex
	values map[string]map[string]string
	puts   map[string]int
}

func (m *memSecrets) SecretJSON(_ context.Context, arn string) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[arn]
	if !ok {
		return nil, fmt.Errorf("secret %s not found", arn)
	}
	return maps.Clone(v), nil
}

func (m *memSecrets) PutSecretJSON(_ context.Context, arn string, values map[string]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.values[arn]; !ok {
		return fmt.Errorf("secret %s not found", arn)
	}
	m.values[arn] = maps.Clone(values)
	m.puts[arn]++
	return nil
}

func TestCertifierIssuesOnceAndRenewsNearExpiry(t *testing.T) {
	ctx := context.Background()
	store := &memSecrets{puts: map[string]int{}, values: map[string]map[string]string{
		"ca": {}, "tls/nats": {}, "tls/surrealdb": {}, "nats": {"token": "t"}, "surreal/fn": {"user": "fn", "pass": "p"},
	}}
	now := time.Now()
	c := dbusers.Certifier{CASecretArn: "ca", Secrets: store, Now: func() time.Time { return now },
		Servers: []dbusers.Server{
			{Name: "nats", SecretArn: "tls/nats", Names: []string{"nats.stratum.internal"}},
			{Name: "surrealdb", SecretArn: "tls/surrealdb", Names: []string{"surrealdb.stratum.internal"}},
		},
		CACopies: []string{"nats", "surreal/fn"}}
	caPEM, err := c.Apply(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range c.Servers {
		v := store.values[s.SecretArn]
		if v["ca"] != caPEM || !pki.Current(pki.KeyPair{Cert: v["cert"], Key: v["key"]}, caPEM, s.Names, now, time.Hour) {
			t.Errorf("%s: no certificate for %v signed by the CA", s.Name, s.Names)
		}
	}
	if store.values["nats"]["ca"] != caPEM || store.values["nats"]["token"] != "t" ||
		store.values["surreal/fn"]["ca"] != caPEM || store.values["surreal/fn"]["pass"] != "p" {
		t.Errorf("CA copies: %v %v", store.values["nats"], store.values["surreal/fn"])
	}
	if _, ok := store.values["nats"]["key"]; ok {
		t.Error("a client secret got a private key")
	}

	// An update keeps everything: no new version of any secret.
	before := maps.Clone(store.puts)
	natsCert := store.values["tls/nats"]["cert"]
	if again, err := c.Apply(ctx); err != nil || again != caPEM {
		t.Fatalf("second apply: %v (CA changed: %v)", err, again != caPEM)
	}
	if !maps.Equal(before, store.puts) {
		t.Errorf("second apply wrote %v, want nothing (before %v)", store.puts, before)
	}

	// A new name (or a certificate near expiry) issues that server's again, under the same CA.
	c.Servers[0].Names = append(c.Servers[0].Names, "nats")
	if _, err := c.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if store.values["tls/nats"]["cert"] == natsCert || store.puts["tls/surrealdb"] != 1 || store.puts["ca"] != 1 {
		t.Errorf("new name: puts %v", store.puts)
	}
	now = now.Add(pki.ServerValidity - dbusers.RenewServerBefore + time.Hour)
	if _, err := c.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if store.puts["tls/surrealdb"] != 2 || store.puts["ca"] != 1 {
		t.Errorf("near expiry: puts %v, want the servers issued again under the same CA", store.puts)
	}
	// A CA near its end is replaced; every server and copy follows it.
	now = now.Add(pki.CAValidity)
	newCA, err := c.Apply(ctx)
	if err != nil || newCA == caPEM || store.values["nats"]["ca"] != newCA || store.values["tls/surrealdb"]["ca"] != newCA {
		t.Errorf("CA renewal: err %v, puts %v", err, store.puts)
	}
}

func TestCertsStepThroughHandle(t *testing.T) {
	store := &memSecrets{puts: map[string]int{}, values: map[string]map[string]string{"ca": {}, "tls/nats": {}}}
	d := dbusers.Definer{Certs: &dbusers.Certifier{CASecretArn: "ca", Secrets: store,
		Servers: []dbusers.Server{{Name: "nats", SecretArn: "tls/nats", Names: []string{"nats.stratum.internal"}}}}}
	out, err := d.Handle(context.Background(), json.RawMessage(`{"step":"certs"}`))
	if err != nil || store.puts["tls/nats"] != 1 {
		t.Fatalf("certs step: %v %v", out, err)
	}
	if _, err := (dbusers.Definer{}).Handle(context.Background(), json.RawMessage(`{"step":"certs"}`)); err == nil {
		t.Error("certs step without a Certifier succeeded")
	}
}

// The certificate step as CloudFormation runs it, through the Secrets
// Manager adapter: Create fills the empty secrets, Update keeps them.
func TestCertsCustomResourceThroughSecretsManager(t *testing.T) {
	ctx := context.Background()
	secrets := map[string]map[string]string{"root": {"user": "root", "pass": "root"}, "ca": {}, "tls/nats": {},
		"nats": {"token": "t"}}
	d := definer(t, secrets, nil)
	d.Certs = &dbusers.Certifier{CASecretArn: "ca", Secrets: d.Secrets.(dbusers.SecretStore), CACopies: []string{"nats"},
		Servers: []dbusers.Server{{Name: "nats", SecretArn: "tls/nats", Names: []string{"nats.stratum.internal"}}}}
	event := func(requestType, url string) json.RawMessage {
		raw, _ := json.Marshal(map[string]any{"RequestType": requestType, "ResponseURL": url,
			"StackId": "arn:aws:cloudformation:eu-west-1:1:stack/StratumPlatform/x", "RequestId": "r1",
			"LogicalResourceId": "SelfHostedTls", "ResourceType": "Custom::SelfHostedTls",
			"ResourceProperties": map[string]any{"ServiceToken": "arn", "Step": "certs"}})
		return raw
	}
	url, response := cloudFormation(t)
	if _, err := d.Handle(ctx, event("Create", url)); err != nil {
		t.Fatal(err)
	}
	if got := response(); got["Status"] != "SUCCESS" || got["PhysicalResourceId"] != dbusers.CertsPhysicalID {
		t.Fatalf("create: %v", got)
	}
	nats := maps.Clone(secrets["tls/nats"])
	if !pki.Current(pki.KeyPair{Cert: nats["cert"], Key: nats["key"]}, secrets["ca"]["cert"], []string{"nats.stratum.internal"}, time.Now(), time.Hour) ||
		secrets["nats"]["ca"] != secrets["ca"]["cert"] || secrets["nats"]["token"] != "t" {
		t.Fatalf("after create: nats %v, copy %v", nats, secrets["nats"])
	}
	if _, err := d.Handle(ctx, event("Update", url)); err != nil || response()["Status"] != "SUCCESS" {
		t.Fatalf("update: %v %v", err, response())
	}
	if !maps.Equal(nats, secrets["tls/nats"]) {
		t.Error("an update issued the certificate again")
	}
}

// Self-hosted, the users step reaches SurrealDB over wss:// trusting the
// CA of the certificate step's secret, and fails against a server that CA
// did not sign.
func TestUsersStepTrustsTheStoredCA(t *testing.T) {
	ctx := context.Background()
	wss, ca := localsurreal.TLSFront(t, surrealURL)
	other, err := pki.NewCA("other CA", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]map[string]string{
		"root": {"user": "root", "pass": "root"}, "ca": {"cert": ca}, "other-ca": {"cert": other.Cert},
		"surreal/c": {"user": "fn_dbu_c", "pass": "pass-of-c"},
	}
	d := definer(t, secrets, []dbusers.User{{Function: "dbu-c", User: "fn_dbu_c", Database: "t_dbu_c", SecretArn: "surreal/c"}})
	d.URL = wss
	d.Certs = &dbusers.Certifier{CASecretArn: "ca", Secrets: d.Secrets.(dbusers.SecretStore)}
	if err := d.Apply(ctx); err != nil {
		t.Fatalf("users over TLS: %v", err)
	}
	c := surreal.New(surreal.Config{URL: wss, CA: ca, User: "fn_dbu_c", Pass: "pass-of-c", Namespace: surreal.Namespace,
		Database: "t_dbu_c", Level: surreal.LevelDatabase}, nil)
	defer func() { _ = c.Close() }()
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("the defined user over TLS: %v", err)
	}
	d.Certs.CASecretArn = "other-ca"
	if err := d.Apply(ctx); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("users step against a server of another CA: %v", err)
	}
}
