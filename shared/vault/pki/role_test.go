package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
)

func roleWith(t *testing.T, fields engine.Fields) *Role {
	t.Helper()
	r := defaultRole()
	if err := roleFrom(fields, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// A common name that is an IP address passes the role's checks (issue 16,
// item 8): allow_ip_sans=false refuses it, and so does a role whose domains
// it is not in, as OpenBao's.
func TestCommonNameIPFollowsTheRole(t *testing.T) {
	for _, c := range []struct {
		name   string
		role   engine.Fields
		cn     string
		refuse bool
	}{
		{"any name, no IP SANs", engine.Fields{"allow_any_name": true, "allow_ip_sans": false}, "10.0.0.1", true},
		{"any name, no IP SANs, IPv6", engine.Fields{"allow_any_name": true, "allow_ip_sans": false}, "fd00::1", true},
		{"any name and IP SANs", engine.Fields{"allow_any_name": true, "allow_ip_sans": true}, "10.0.0.1", false},
		{"domains only", engine.Fields{"allowed_domains": "example.com", "allow_subdomains": true, "allow_ip_sans": true}, "10.0.0.1", true},
		{"a hostname still passes", engine.Fields{"allow_any_name": true, "allow_ip_sans": false}, "a.example.com", false},
	} {
		err := roleWith(t, c.role).checkNames(c.cn, nil, nil)
		if c.refuse && (err == nil || !strings.Contains(err.Error(), "common name "+c.cn+" not allowed by this role")) {
			t.Errorf("%s: CN %s: %v, want it refused", c.name, c.cn, err)
		}
		if !c.refuse && err != nil {
			t.Errorf("%s: CN %s: %v", c.name, c.cn, err)
		}
	}
}

// csrKey makes a CSR for key and parses it back as sign/<role> does.
func csrKey(t *testing.T, key crypto.Signer) *x509.CertificateRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "svc.example.com"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := parseCSR(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})))
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

// sign/<role> holds the CSR's key to the role's key_type and key_bits
// (issue 16, item 8), with OpenBao's errors.
func TestSignEnforcesTheRolesKey(t *testing.T) {
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for _, c := range []struct {
		role engine.Fields
		key  crypto.Signer
		want string // "" to accept
	}{
		{engine.Fields{"key_type": "rsa", "key_bits": 2048.0}, rsa1024, "role requires a minimum of a 2048-bit key, but CSR's key is 1024 bits"},
		{engine.Fields{"key_type": "rsa", "key_bits": 2048.0}, rsa2048, ""},
		{engine.Fields{"key_type": "rsa", "key_bits": 4096.0}, rsa2048, "role requires a minimum of a 4096-bit key, but CSR's key is 2048 bits"},
		{engine.Fields{"key_type": "rsa"}, p256, "role requires keys of type rsa"},
		{engine.Fields{"key_type": "ec", "key_bits": 384.0}, p256, "role requires a minimum of a 384-bit key, but CSR's key is 256 bits"},
		{engine.Fields{"key_type": "ec", "key_bits": 256.0}, p384, ""},
		{engine.Fields{"key_type": "any"}, rsa1024, "RSA keys < 2048 bits are unsafe and not supported"},
		{engine.Fields{"key_type": "any"}, rsa2048, ""},
		{engine.Fields{"key_type": "any"}, p256, ""},
		{engine.Fields{"key_type": "ed25519"}, ed, ""},
	} {
		csr := csrKey(t, c.key)
		err := roleWith(t, c.role).checkCSRKey(csr.PublicKey, csr.RawSubjectPublicKeyInfo)
		if c.want == "" && err != nil || c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)) {
			t.Errorf("role %v, CSR key %T: %v, want %q", c.role, c.key, err, c.want)
		}
	}
}
