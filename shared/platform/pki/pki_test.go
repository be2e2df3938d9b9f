package pki_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"slices"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/pki"
)

func TestIssueSignsServerCertificateForItsNames(t *testing.T) {
	now := time.Now()
	ca, err := pki.NewCA("test CA", now)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"nats.stratum.internal", "nats"}
	kp, err := pki.Issue(ca, names, now)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.ParseCert(kp.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cert.DNSNames, names) || cert.IsCA {
		t.Errorf("SANs %v, CA %v", cert.DNSNames, cert.IsCA)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", cert.PublicKey)
	}
	caCert, _ := pki.ParseCert(ca.Cert)
	if err := cert.CheckSignatureFrom(caCert); err != nil {
		t.Errorf("not signed by the CA: %v", err)
	}
	roots, _ := pki.Pool(ca.Cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "nats.stratum.internal"}); err != nil {
		t.Errorf("verify: %v", err)
	}
	if !pki.Current(kp, ca.Cert, names, now, 30*24*time.Hour) {
		t.Error("a fresh certificate is not current")
	}
}

func TestCurrentRefusesWhatMustBeIssuedAgain(t *testing.T) {
	now := time.Now()
	ca, _ := pki.NewCA("test CA", now)
	other, _ := pki.NewCA("other CA", now)
	kp, _ := pki.Issue(ca, []string{"surrealdb.stratum.internal"}, now)
	otherKey, _ := pki.Issue(ca, []string{"surrealdb.stratum.internal"}, now)
	for name, ok := range map[string]bool{
		"another CA":        pki.Current(kp, other.Cert, []string{"surrealdb.stratum.internal"}, now, time.Hour),
		"a name it lacks":   pki.Current(kp, ca.Cert, []string{"nats.stratum.internal"}, now, time.Hour),
		"near expiry":       pki.Current(kp, ca.Cert, nil, now.Add(pki.ServerValidity-24*time.Hour), 30*24*time.Hour),
		"mismatched key":    pki.Current(pki.KeyPair{Cert: kp.Cert, Key: otherKey.Key}, ca.Cert, nil, now, time.Hour),
		"empty":             pki.Current(pki.KeyPair{}, ca.Cert, nil, now, time.Hour),
		"CA near expiry":    pki.Current(ca, "", nil, now.Add(pki.CAValidity-time.Hour), 24*time.Hour),
		"server as own CA":  pki.Current(kp, "", nil, now, time.Hour),
		"garbage CA for kp": pki.Current(kp, "nope", nil, now, time.Hour),
	} {
		if ok {
			t.Errorf("%s: Current = true", name)
		}
	}
	if !pki.Current(ca, "", nil, now, 24*time.Hour) {
		t.Error("a fresh CA is not current")
	}
	if _, err := pki.Issue(ca, nil, now); err == nil {
		t.Error("Issue without names succeeded")
	}
}
