// Package pki is the private certificate authority of the self-hosted NATS
// and SurrealDB: an ECDSA P-256 CA and the server certificates it signs for
// their Cloud Map names, as PEM, plus the check that decides whether a
// stored certificate is kept or issued again.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"time"
)

// Validity of what Issue and NewCA make.
const (
	CAValidity     = 10 * 365 * 24 * time.Hour
	ServerValidity = 2 * 365 * 24 * time.Hour
)

// KeyPair is a certificate and its private key, both PEM.
type KeyPair struct {
	Cert string `json:"cert"`
	Key  string `json:"key"`
}

// NewCA makes a self-signed CA named cn, valid from now for CAValidity.
func NewCA(cn string, now time.Time) (KeyPair, error) {
	tmpl := &x509.Certificate{
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	return sign(tmpl, nil, nil)
}

// Issue signs, with ca, a server certificate for names (DNS names), valid
// from now for ServerValidity.
func Issue(ca KeyPair, names []string, now time.Time) (KeyPair, error) {
	if len(names) == 0 {
		return KeyPair{}, errors.New("server certificate: no names")
	}
	caCert, err := ParseCert(ca.Cert)
	if err != nil {
		return KeyPair{}, fmt.Errorf("ca: %w", err)
	}
	caKey, err := parseKey(ca.Key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("ca: %w", err)
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: names[0]},
		DNSNames:    slices.Clone(names),
		NotBefore:   now.Add(-time.Minute),
		NotAfter:    now.Add(ServerValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	return sign(tmpl, caCert, caKey)
}

// sign makes a P-256 key and a certificate of tmpl for it, signed by
// parentKey (self-signed when parent is nil).
func sign(tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (KeyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return KeyPair{}, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return KeyPair{}, fmt.Errorf("serial: %w", err)
	}
	tmpl.SerialNumber = serial
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return KeyPair{}, fmt.Errorf("sign certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return KeyPair{}, fmt.Errorf("encode key: %w", err)
	}
	return KeyPair{
		Cert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		Key:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
	}, nil
}

// ParseCert reads one PEM certificate.
func ParseCert(certPEM string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(certPEM))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func parseKey(keyPEM string) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(keyPEM))
	if block == nil {
		return nil, errors.New("no PEM private key")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("private key: %w", err)
	}
	ec, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("private key is not ECDSA")
	}
	return ec, nil
}

// Current reports whether kp is still good at now: its key matches its
// certificate, which chains to caPEM (or, when caPEM is "", is itself a
// self-signed CA), names
// every one of names, and stays valid for at least renewBefore.
func Current(kp KeyPair, caPEM string, names []string, now time.Time, renewBefore time.Duration) bool {
	cert, err := ParseCert(kp.Cert)
	if err != nil {
		return false
	}
	key, err := parseKey(kp.Key)
	if err != nil || !key.PublicKey.Equal(cert.PublicKey) {
		return false
	}
	if now.Before(cert.NotBefore) || now.Add(renewBefore).After(cert.NotAfter) {
		return false
	}
	if caPEM == "" { // a CA: self-signed, and allowed to sign
		if !cert.IsCA || cert.CheckSignatureFrom(cert) != nil {
			return false
		}
		caPEM = kp.Cert
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(caPEM)) {
		return false
	}
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := cert.Verify(opts); err != nil {
		return false
	}
	for _, name := range names {
		if cert.VerifyHostname(name) != nil {
			return false
		}
	}
	return true
}

// Pool is a certificate pool of the PEM certificates in caPEM.
func Pool(caPEM string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		return nil, errors.New("no PEM certificate in the CA")
	}
	return pool, nil
}
