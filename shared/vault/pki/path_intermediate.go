package pki

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// pendingKey is an intermediate's key while its CSR is out for signing.
type pendingKey struct {
	Key []byte `json:"key"`
}

// generateIntermediate serves intermediate/generate/<internal|exported>.
func (m mount) generateIntermediate() (keeper.EngineResponse, error) {
	f, exported, ok := m.f, m.p["kind"] == "exported", m.p["kind"] == "internal" || m.p["kind"] == "exported"
	if !ok {
		return engine.Unsupported()
	}
	cn, err := f.String("common_name")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if cn == "" {
		return keeper.EngineResponse{}, invalid("the common_name field is required")
	}
	key, err := keyRequest(f)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	name, err := subjectFrom(f, cn)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	_, alt, ips, err := namesFrom(f)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	csr, err := createCSR(&x509.CertificateRequest{Subject: name, DNSNames: alt, IPAddresses: ips}, key)
	if err != nil {
		return keeper.EngineResponse{}, fmt.Errorf("create CSR: %w", err)
	}
	keyDER, err := key.marshal()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := m.put("ca-pending", pendingKey{Key: keyDER}, -1); err != nil {
		return keeper.EngineResponse{}, err
	}
	out := map[string]any{"csr": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr})), "key_type": key.Type}
	if exported {
		pk, err := key.privatePEM()
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		out["private_key"], out["private_key_type"] = pk, key.Type
	}
	return engine.OK(out)
}

func (m mount) setSigned() (keeper.EngineResponse, error) {
	text, err := m.f.String("certificate")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	certs, pems, err := parsePEMCerts(text)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	var pending pendingKey
	rev, err := m.get("ca-pending", &pending)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if rev == 0 {
		return keeper.EngineResponse{}, invalid("no pending intermediate key: generate an intermediate CSR first")
	}
	key, err := parseKey(pending.Key)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	spki, err := key.spki()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if string(certs[0].RawSubjectPublicKeyInfo) != string(spki) {
		return keeper.EngineResponse{}, invalid("the certificate's public key does not match the pending intermediate key")
	}
	if !certs[0].IsCA {
		return keeper.EngineResponse{}, invalid("the certificate is not a CA certificate")
	}
	if existing, err := m.loadCA(); err != nil || existing != nil {
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		if err := m.e.st.Delete(m.ctx, m.path("ca")); err != nil {
			return keeper.EngineResponse{}, err
		}
	}
	res, err := m.installCA(certs[0].Raw, key, pems[1:], false)
	if err != nil {
		return res, err
	}
	if err := m.e.st.Delete(m.ctx, m.path("ca-pending")); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.OK(map[string]any{"imported_issuers": []string{serialString(certs[0].SerialNumber)}})
}
