package pki

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// caBundle is the mount's issuing CA: its certificate, key and the chain above it.
type caBundle struct {
	Certificate string   `json:"certificate"`
	Key         []byte   `json:"key"`
	Chain       []string `json:"chain"`

	cert *x509.Certificate
	key  *keyPair
}

func (m mount) loadCA() (*caBundle, error) {
	var ca caBundle
	rev, err := m.get("ca", &ca)
	if err != nil || rev == 0 {
		return nil, err
	}
	block, _ := pem.Decode([]byte(ca.Certificate))
	if block == nil {
		return nil, errors.New("stored CA certificate is not PEM")
	}
	if ca.cert, err = x509.ParseCertificate(block.Bytes); err != nil {
		return nil, fmt.Errorf("parse stored CA: %w", err)
	}
	if ca.key, err = parseKey(ca.Key); err != nil {
		return nil, err
	}
	return &ca, nil
}

func (m mount) requireCA() (*caBundle, error) {
	ca, err := m.loadCA()
	if err == nil && ca == nil {
		err = invalid("no default issuer currently configured: generate or set a CA first")
	}
	return ca, err
}

// chainPEM is the issuing CA followed by the chain above it.
func (ca *caBundle) chainPEM() []string { return append([]string{ca.Certificate}, ca.Chain...) }

// caTemplate is a CA certificate for subject.
func caTemplate(f engine.Fields, cn string) (*x509.Certificate, error) {
	name, err := subjectFrom(f, cn)
	if err != nil {
		return nil, err
	}
	_, alt, ips, err := namesFrom(f)
	if err != nil {
		return nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	maxPath := -1
	if f.Has("max_path_length") {
		if maxPath, err = f.Int("max_path_length"); err != nil {
			return nil, err
		}
	}
	t := &x509.Certificate{SerialNumber: serial, Subject: name, DNSNames: alt, IPAddresses: ips,
		IsCA: true, BasicConstraintsValid: true, MaxPathLen: maxPath, MaxPathLenZero: maxPath == 0,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature}
	return t, nil
}

func keyRequest(f engine.Fields) (*keyPair, error) {
	typ, err := f.String("key_type")
	if err != nil {
		return nil, err
	}
	if typ == "" {
		typ = keyRSA
	}
	bits, err := f.Int("key_bits")
	if err != nil {
		return nil, err
	}
	return generateKey(typ, bits)
}

// installCA stores a CA and its first (empty) CRL and answers as Vault does.
func (m mount) installCA(der []byte, key *keyPair, chain []string, exported bool) (keeper.EngineResponse, error) {
	keyDER, err := key.marshal()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	ca := &caBundle{Certificate: pemCert(der), Key: keyDER, Chain: chain, key: key}
	if ca.cert, err = x509.ParseCertificate(der); err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := m.put("ca", ca, 0); err != nil {
		if errors.Is(err, storage.ErrConflict) {
			return keeper.EngineResponse{}, invalid("a CA is already configured at this mount; DELETE root first to replace it")
		}
		return keeper.EngineResponse{}, err
	}
	if _, err := m.rebuildCRLWith(ca); err != nil {
		return keeper.EngineResponse{}, err
	}
	out := map[string]any{"certificate": ca.Certificate, "issuing_ca": ca.Certificate, "serial_number": serialString(ca.cert.SerialNumber),
		"expiration": ca.cert.NotAfter.Unix(), "ca_chain": ca.chainPEM(), "key_type": key.Type}
	if exported {
		pk, err := key.privatePEM()
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		out["private_key"], out["private_key_type"] = pk, key.Type
	}
	if len(chain) > 0 {
		out["issuing_ca"] = chain[0]
	}
	return engine.OK(out)
}
