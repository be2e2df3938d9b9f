package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	bao "github.com/openbao/openbao/api/v2"
)

func parsePEMCert(t *testing.T, text any) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(text.(string)))
	if block == nil {
		t.Fatalf("not PEM: %v", text)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// get fetches a path without a token, as a TLS client fetching a CRL would.
func getPublic(t *testing.T, path string) (int, string, []byte) {
	t.Helper()
	res, err := http.Get(ep.Gateways["vault"] + "/v1/" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), body
}

// PKI is judged by OpenBao's client, and every certificate by Go's
// crypto/x509 verifying it against the chain; ML-DSA-65 ones by circl.
func TestVaultPKI(t *testing.T) {
	ctx := context.Background()
	root := unsealedRoot(t)
	lg := root.Logical()
	for _, m := range []string{"pki", "pki_int", "pki_pq"} {
		if err := root.Sys().MountWithContext(ctx, m, &bao.MountInput{Type: "pki"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := lg.WriteWithContext(ctx, "pki_int/roles/web", map[string]any{"allowed_domains": "example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := lg.WriteWithContext(ctx, "pki_int/issue/web", map[string]any{"common_name": "a.example.com"}); !hasStatus(err, 400) ||
		!strings.Contains(err.Error(), "no default issuer") {
		t.Fatalf("issue before a CA exists: %v", err)
	}

	var rootCA, intCA *x509.Certificate
	t.Run("root, intermediate, chain", func(t *testing.T) {
		s := mustWrite(t, lg, "pki/root/generate/internal", map[string]any{"common_name": "Stratum Root CA", "key_type": "ec", "key_bits": 384, "ttl": "87600h"})
		rootCA = parsePEMCert(t, s.Data["certificate"])
		if !rootCA.IsCA || rootCA.Subject.CommonName != "Stratum Root CA" || s.Data["private_key"] != nil {
			t.Fatalf("root: %+v (internal roots show no key)", rootCA.Subject)
		}
		if err := rootCA.CheckSignatureFrom(rootCA); err != nil {
			t.Fatalf("root self-signature: %v", err)
		}
		csr := mustWrite(t, lg, "pki_int/intermediate/generate/internal", map[string]any{"common_name": "Stratum Issuing CA", "key_type": "rsa"}).Data["csr"]
		signed := mustWrite(t, lg, "pki/root/sign-intermediate", map[string]any{"csr": csr, "ttl": "43800h"}).Data
		mustWrite(t, lg, "pki_int/intermediate/set-signed", map[string]any{"certificate": signed["certificate"].(string) + signed["issuing_ca"].(string)})
		intCA = parsePEMCert(t, signed["certificate"])
		if err := intCA.CheckSignatureFrom(rootCA); err != nil || !intCA.IsCA {
			t.Fatalf("intermediate: %v", err)
		}
		code, ctype, body := getPublic(t, "pki_int/ca/pem")
		if code != 200 || !strings.Contains(ctype, "pem") || parsePEMCert(t, string(body)).SerialNumber.Cmp(intCA.SerialNumber) != 0 {
			t.Fatalf("ca/pem: %d %s", code, ctype)
		}
		if code, _, body := getPublic(t, "pki_int/ca_chain"); code != 200 || strings.Count(string(body), "BEGIN CERTIFICATE") != 2 {
			t.Fatalf("ca_chain: %d %s", code, body)
		}
	})

	verify := func(t *testing.T, leaf *x509.Certificate, name string) {
		t.Helper()
		roots, inter := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(rootCA)
		inter.AddCert(intCA)
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, Intermediates: inter}); err != nil {
			t.Fatalf("crypto/x509 does not verify %s: %v", name, err)
		}
	}
	var issuedSerial string
	t.Run("roles, issue and sign verify with crypto/x509", func(t *testing.T) {
		mustWrite(t, lg, "pki_int/roles/web", map[string]any{"allowed_domains": []string{"example.com"}, "allow_subdomains": true,
			"ttl": "24h", "max_ttl": "72h", "key_type": "ec", "organization": "Stratum"})
		if r, err := lg.ReadWithContext(ctx, "pki_int/roles/web"); err != nil || r.Data["allow_subdomains"] != true || r.Data["key_type"] != "ec" {
			t.Fatalf("role: %v %v", r, err)
		}
		s := mustWrite(t, lg, "pki_int/issue/web", map[string]any{"common_name": "api.example.com", "alt_names": "www.example.com", "ip_sans": "10.0.0.7"})
		leaf := parsePEMCert(t, s.Data["certificate"])
		verify(t, leaf, "api.example.com")
		verify(t, leaf, "www.example.com")
		if len(leaf.IPAddresses) != 1 || leaf.IPAddresses[0].String() != "10.0.0.7" || leaf.Subject.Organization[0] != "Stratum" {
			t.Fatalf("leaf: %v %v", leaf.IPAddresses, leaf.Subject)
		}
		if got := leaf.NotAfter.Sub(leaf.NotBefore); got < 24*time.Hour || got > 25*time.Hour {
			t.Fatalf("role ttl 24h, leaf lives %s", got)
		}
		key, _ := pem.Decode([]byte(s.Data["private_key"].(string)))
		if key == nil || key.Type != "EC PRIVATE KEY" || s.Data["private_key_type"] != "ec" {
			t.Fatalf("private key: %v", s.Data["private_key_type"])
		}
		if chain := s.Data["ca_chain"].([]any); len(chain) != 2 {
			t.Fatalf("ca_chain has %d certificates", len(chain))
		}
		issuedSerial = s.Data["serial_number"].(string)

		// A CSR made here, signed there.
		priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "svc.example.com"}}, priv)
		csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
		s = mustWrite(t, lg, "pki_int/sign/web", map[string]any{"csr": csr, "ttl": "1000h"})
		signed := parsePEMCert(t, s.Data["certificate"])
		verify(t, signed, "svc.example.com")
		if !signed.PublicKey.(*ecdsa.PublicKey).Equal(&priv.PublicKey) {
			t.Fatal("the signed certificate is not for the CSR's key")
		}
		if got := signed.NotAfter.Sub(signed.NotBefore); got > 73*time.Hour || len(s.Warnings) == 0 {
			t.Fatalf("ttl above max_ttl: lives %s, warnings %v", got, s.Warnings)
		}
		list, err := lg.ListWithContext(ctx, "pki_int/certs")
		if err != nil || len(list.Data["keys"].([]any)) != 2 {
			t.Fatalf("certs: %v %v", list, err)
		}
		code, _, body := getPublic(t, "pki_int/cert/"+strings.ReplaceAll(issuedSerial, ":", "-"))
		if code != 200 || !strings.Contains(string(body), "BEGIN CERTIFICATE") {
			t.Fatalf("cert by serial: %d %s", code, body)
		}
	})

	t.Run("revoke and the CRL", func(t *testing.T) {
		s := mustWrite(t, lg, "pki_int/revoke", map[string]any{"serial_number": issuedSerial})
		if s.Data["revocation_time"] == nil {
			t.Fatalf("revoke: %v", s.Data)
		}
		code, ctype, der := getPublic(t, "pki_int/crl")
		if code != 200 || ctype != "application/pkix-crl" {
			t.Fatalf("crl: %d %s", code, ctype)
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatal(err)
		}
		if err := crl.CheckSignatureFrom(intCA); err != nil {
			t.Fatalf("CRL signature: %v", err)
		}
		serial, _ := new(big.Int).SetString(strings.ReplaceAll(issuedSerial, ":", ""), 16)
		if len(crl.RevokedCertificateEntries) != 1 || crl.RevokedCertificateEntries[0].SerialNumber.Cmp(serial) != 0 {
			t.Fatalf("CRL entries: %+v", crl.RevokedCertificateEntries)
		}
		if code, _, body := getPublic(t, "pki_int/crl/pem"); code != 200 || !strings.Contains(string(body), "BEGIN X509 CRL") {
			t.Fatalf("crl/pem: %d", code)
		}
	})

	t.Run("ml-dsa-65 certificates (experimental) verify with circl", func(t *testing.T) {
		s := mustWrite(t, lg, "pki_pq/root/generate/exported", map[string]any{"common_name": "Stratum PQ Root", "key_type": "ml-dsa-65", "ttl": "8760h"})
		pqRoot := parsePEMCert(t, s.Data["certificate"])
		if s.Data["private_key_type"] != "ml-dsa-65" {
			t.Fatalf("exported key type %v", s.Data["private_key_type"])
		}
		var spki struct {
			Algorithm struct{ Algorithm asn1.ObjectIdentifier }
			PublicKey asn1.BitString
		}
		if _, err := asn1.Unmarshal(pqRoot.RawSubjectPublicKeyInfo, &spki); err != nil || spki.Algorithm.Algorithm.String() != "2.16.840.1.101.3.4.3.18" {
			t.Fatalf("root SPKI algorithm %v %v (want id-ml-dsa-65)", spki.Algorithm.Algorithm, err)
		}
		var pk mldsa65.PublicKey
		if err := pk.UnmarshalBinary(spki.PublicKey.Bytes); err != nil {
			t.Fatal(err)
		}
		if !mldsa65.Verify(&pk, pqRoot.RawTBSCertificate, nil, pqRoot.Signature) {
			t.Fatal("the root's self-signature does not verify")
		}
		mustWrite(t, lg, "pki_pq/roles/pq", map[string]any{"allow_any_name": true, "key_type": "ml-dsa-65"})
		leafData := mustWrite(t, lg, "pki_pq/issue/pq", map[string]any{"common_name": "pq.example.com"}).Data
		leaf := parsePEMCert(t, leafData["certificate"])
		if !mldsa65.Verify(&pk, leaf.RawTBSCertificate, nil, leaf.Signature) || leaf.Issuer.CommonName != "Stratum PQ Root" {
			t.Fatal("the leaf's signature does not verify with the root's ML-DSA-65 key")
		}
		if !strings.Contains(leaf.DNSNames[0], "pq.example.com") || string(leaf.AuthorityKeyId) != string(pqRoot.SubjectKeyId) {
			t.Fatalf("leaf names %v, AKI matches root SKI: %v", leaf.DNSNames, string(leaf.AuthorityKeyId) == string(pqRoot.SubjectKeyId))
		}
		mustWrite(t, lg, "pki_pq/revoke", map[string]any{"serial_number": leafData["serial_number"]})
		_, _, der := getPublic(t, "pki_pq/crl")
		crl, err := x509.ParseRevocationList(der)
		if err != nil || len(crl.RevokedCertificateEntries) != 1 || !mldsa65.Verify(&pk, crl.RawTBSRevocationList, nil, crl.Signature) {
			t.Fatalf("ML-DSA-65 CRL: %v", err)
		}
		// A classic CA cannot issue an ML-DSA-65 leaf.
		mustWrite(t, lg, "pki_int/roles/pq", map[string]any{"allow_any_name": true, "key_type": "ml-dsa-65"})
		if _, err := lg.WriteWithContext(ctx, "pki_int/issue/pq", map[string]any{"common_name": "x.example.com"}); !hasStatus(err, 400) {
			t.Fatalf("ml-dsa-65 leaf from an RSA CA: %v", err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		mustWrite(t, lg, "pki_int/roles/uncapped", map[string]any{"allow_any_name": true, "key_type": "ed25519"})
		for _, c := range []struct {
			path    string
			body    map[string]any
			message string
		}{
			{"pki_int/issue/web", map[string]any{"common_name": "evil.com"}, "common name evil.com not allowed by this role"},
			{"pki_int/issue/web", map[string]any{"common_name": "a.example.com", "alt_names": "b.evil.com"}, "subject alternate name b.evil.com not allowed"},
			{"pki_int/issue/web", map[string]any{"common_name": "a.example.com", "ip_sans": "300.1.1.1"}, "not a valid IP address"},
			{"pki_int/issue/uncapped", map[string]any{"common_name": "a.example.com", "ttl": "900000h"}, "beyond the expiration of the CA"},
			{"pki_int/issue/nope", map[string]any{"common_name": "a.example.com"}, "unknown role: nope"},
			{"pki_int/sign/web", map[string]any{"csr": "not a csr"}, "no PEM CERTIFICATE REQUEST"},
			{"pki_int/roles/bad", map[string]any{"key_type": "dsa"}, `unknown key_type "dsa"`},
			{"pki_int/roles/bad", map[string]any{"key_type": "ec", "key_bits": 1024}, "invalid key_bits 1024"},
			{"pki_int/revoke", map[string]any{"serial_number": "aa:bb"}, "certificate with serial aa:bb not found"},
			{"pki_int/revoke", map[string]any{"serial_number": "zz"}, "invalid serial number"},
			{"pki/root/generate/internal", map[string]any{"common_name": "Second Root"}, "a CA is already configured"},
			{"pki/root/generate/internal", map[string]any{}, "common_name field is required"},
		} {
			if _, err := lg.WriteWithContext(ctx, c.path, c.body); !hasStatus(err, 400) || !strings.Contains(err.Error(), c.message) {
				t.Errorf("%s %v: %v, want 400 with %q", c.path, c.body, err, c.message)
			}
		}
		// An IP common name passes the role's checks, and sign/<role> holds
		// the CSR's key to the role's key_bits (issue 16, item 8).
		mustWrite(t, lg, "pki_int/roles/no-ips", map[string]any{"allow_any_name": true, "allow_ip_sans": false})
		if _, err := lg.WriteWithContext(ctx, "pki_int/issue/no-ips", map[string]any{"common_name": "10.0.0.1"}); !hasStatus(err, 400) ||
			!strings.Contains(err.Error(), "common name 10.0.0.1 not allowed by this role") {
			t.Errorf("CN 10.0.0.1 under allow_ip_sans=false: %v", err)
		}
		mustWrite(t, lg, "pki_int/roles/rsa2048", map[string]any{"allow_any_name": true, "key_type": "rsa", "key_bits": 2048})
		weak, _ := rsa.GenerateKey(rand.Reader, 1024)
		der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "weak.example.com"}}, weak)
		csr := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
		if _, err := lg.WriteWithContext(ctx, "pki_int/sign/rsa2048", map[string]any{"csr": csr}); !hasStatus(err, 400) ||
			!strings.Contains(err.Error(), "role requires a minimum of a 2048-bit key, but CSR's key is 1024 bits") {
			t.Errorf("a 1024-bit CSR under a 2048-bit role: %v", err)
		}
		if code, _, _ := getPublic(t, "pki_int/roles/web"); code != 403 {
			t.Errorf("a role read without a token: %d", code)
		}
	})
}
