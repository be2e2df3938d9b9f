package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

func TestKeysRoundTripThroughPKCS8(t *testing.T) {
	for _, typ := range []string{keyRSA, keyEC, keyEd25519, keyMLDSA} {
		k, err := generateKey(typ, 0)
		if err != nil {
			t.Fatal(err)
		}
		der, err := k.marshal()
		if err != nil {
			t.Fatal(err)
		}
		back, err := parseKey(der)
		if err != nil || back.Type != typ {
			t.Fatalf("%s: parsed back as %v, %v", typ, back, err)
		}
		a, _ := k.spki()
		b, _ := back.spki()
		if string(a) != string(b) {
			t.Fatalf("%s: the public key changed through PKCS#8", typ)
		}
	}
}

// An ML-DSA-65 intermediate: its CSR verifies, the root signs it, and the
// chain's signatures check out link by link.
func TestMLDSAChain(t *testing.T) {
	rootKey, _ := generateKey(keyMLDSA, 0)
	rootSPKI, _ := rootKey.spki()
	now := time.Now()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "root"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, NotBefore: now, NotAfter: now.Add(time.Hour)}
	rootDER, err := createCertificate(rootTmpl, rootSPKI, nil, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyMLDSA(root.RawSubjectPublicKeyInfo, root.RawTBSCertificate, root.Signature); err != nil {
		t.Fatalf("root self-signature: %v", err)
	}
	intKey, _ := generateKey(keyMLDSA, 0)
	csrDER, err := createCSR(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "intermediate"}}, intKey)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := parseCSR(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER})))
	if err != nil {
		t.Fatalf("ML-DSA CSR: %v", err)
	}
	intTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: csr.Subject, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, NotBefore: now, NotAfter: now.Add(time.Hour)}
	intDER, err := createCertificate(intTmpl, csr.RawSubjectPublicKeyInfo, root, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	inter, _ := x509.ParseCertificate(intDER)
	if err := verifyMLDSA(root.RawSubjectPublicKeyInfo, inter.RawTBSCertificate, inter.Signature); err != nil {
		t.Fatalf("intermediate signed by root: %v", err)
	}
	if err := verifyMLDSA(intDER[:0], inter.RawTBSCertificate, inter.Signature); err == nil {
		t.Fatal("verified without a key")
	}
	// A classic leaf under the ML-DSA intermediate.
	leafKey, _ := generateKey(keyEC, 0)
	leafSPKI, _ := leafKey.spki()
	leafDER, err := createCertificate(&x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: now, NotAfter: now.Add(time.Hour)}, leafSPKI, inter, intKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(leafDER)
	if err := verifyMLDSA(inter.RawSubjectPublicKeyInfo, leaf.RawTBSCertificate, leaf.Signature); err != nil {
		t.Fatalf("leaf signed by intermediate: %v", err)
	}
	if leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Fatalf("leaf key algorithm %v", leaf.PublicKeyAlgorithm)
	}
	// Tampering with one byte of the signed part breaks it.
	tbs := append([]byte{}, leaf.RawTBSCertificate...)
	tbs[len(tbs)/2] ^= 1
	if verifyMLDSA(inter.RawSubjectPublicKeyInfo, tbs, leaf.Signature) == nil {
		t.Fatal("a modified certificate verified")
	}
}

func TestSerialsAndNames(t *testing.T) {
	for in, want := range map[string]string{"0A-0b-FF": "0a:0b:ff", "0a:0b:ff": "0a:0b:ff", "00:01": "01"} {
		if got, err := normalizeSerial(in); err != nil || got != want {
			t.Errorf("normalizeSerial(%q) = %q %v, want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "xyz", "00", "01:" + string(make([]byte, 60))} {
		if _, err := normalizeSerial(bad); err == nil {
			t.Errorf("normalizeSerial(%q) accepted", bad)
		}
	}
	r := defaultRole()
	r.AllowedDomains, r.AllowSubdomains = []string{"example.com"}, true
	for name, ok := range map[string]bool{"a.example.com": true, "a.b.example.com": true, "example.com": false,
		"evilexample.com": false, "localhost": true, "bad_name.example.com": false, "-x.example.com": false} {
		if r.allows(name) != ok {
			t.Errorf("allows(%q) = %v, want %v", name, !ok, ok)
		}
	}
	r.AllowIPSANs = false
	if err := r.checkNames("a.example.com", nil, []net.IP{net.ParseIP("10.0.0.1")}); err == nil {
		t.Fatal("IP SAN accepted by a role that forbids them")
	}
}

// A CSR whose ML-DSA-65 key has the wrong length is a 400 that says so.
func TestMLDSACSRWithWrongLengthKey(t *testing.T) {
	key, _ := generateKey(keyMLDSA, 0)
	spki, _ := key.spki()
	var info subjectPublicKeyInfo
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		t.Fatal(err)
	}
	short := info.PublicKey.Bytes[:len(info.PublicKey.Bytes)-1]
	info.PublicKey = asn1.BitString{Bytes: short, BitLength: 8 * len(short)}
	bad, _ := asn1.Marshal(info)
	csrDER, err := createCSR(&x509.CertificateRequest{Subject: pkix.Name{CommonName: "svc"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, _ := x509.ParseCertificateRequest(csrDER)
	tbs, err := replaceFields(csr.RawTBSCertificateRequest, map[int][]byte{2: bad})
	if err != nil {
		t.Fatal(err)
	}
	der, _ := signMLDSA(tbs, key)
	_, err = parseCSR(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})))
	var inv *keeper.InvalidError
	if !errors.As(err, &inv) || !strings.Contains(inv.Msg, "public key is 1951 bytes, want 1952") {
		t.Fatalf("got %v", err)
	}
}
