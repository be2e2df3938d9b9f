package pki

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// generateRoot serves root/generate/<internal|exported>.
func (m mount) generateRoot() (keeper.EngineResponse, error) {
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
	if existing, err := m.loadCA(); err != nil || existing != nil {
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		return keeper.EngineResponse{}, invalid("a CA is already configured at this mount; DELETE root first to replace it")
	}
	key, err := keyRequest(f)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	tmpl, err := caTemplate(f, cn)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	ttl, err := f.Duration("ttl")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	ttl, warnings := m.mountTTL(ttl)
	now := time.Now().UTC()
	tmpl.NotBefore, tmpl.NotAfter = now.Add(-backdate), now.Add(ttl)
	spki, err := key.spki()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	der, err := createCertificate(tmpl, spki, nil, key)
	if err != nil {
		return keeper.EngineResponse{}, fmt.Errorf("create root certificate: %w", err)
	}
	res, err := m.installCA(der, key, nil, exported)
	res.Warnings = append(res.Warnings, warnings...)
	return res, err
}

func (m mount) deleteRoot() (keeper.EngineResponse, error) {
	if err := m.e.st.Delete(m.ctx, m.path("ca"), m.path("crl"), m.path("ca-pending")); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}

// caAndCSR is what signing needs: the mount's CA and the request's checked CSR.
func (m mount) caAndCSR(f engine.Fields) (*caBundle, *x509.CertificateRequest, error) {
	ca, err := m.requireCA()
	if err != nil {
		return nil, nil, err
	}
	text, err := f.String("csr")
	if err != nil {
		return nil, nil, err
	}
	csr, err := parseCSR(text)
	if err != nil {
		return nil, nil, err
	}
	return ca, csr, nil
}

func (m mount) signIntermediate() (keeper.EngineResponse, error) {
	f := m.f
	ca, csr, err := m.caAndCSR(f)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	cn, _ := f.String("common_name")
	if cn == "" {
		cn = csr.Subject.CommonName
	}
	tmpl, err := caTemplate(f, cn)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if len(tmpl.Subject.Organization) == 0 {
		tmpl.Subject = csr.Subject
		tmpl.Subject.CommonName = cn
	}
	var warnings []string
	if tmpl.NotBefore, tmpl.NotAfter, warnings, err = m.validity(f, nil, ca.cert); err != nil {
		return keeper.EngineResponse{}, err
	}
	der, err := createCertificate(tmpl, csr.RawSubjectPublicKeyInfo, ca.cert, ca.key)
	if err != nil {
		return keeper.EngineResponse{}, fmt.Errorf("sign intermediate: %w", err)
	}
	return m.issued(der, ca, nil, false, warnings)
}
