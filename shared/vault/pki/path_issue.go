package pki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"net"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// leafTemplate is a certificate for names under role.
func (m mount) leafTemplate(f engine.Fields, role *Role, ca *caBundle, cn string, dns []string, ips []net.IP) (*x509.Certificate, []string, error) {
	exclude, err := f.Bool("exclude_cn_from_sans")
	if err != nil {
		return nil, nil, err
	}
	if cn == "" {
		return nil, nil, invalid("the common_name field is required")
	}
	if !exclude && net.ParseIP(cn) == nil && !contains(dns, cn) {
		dns = append([]string{cn}, dns...)
	}
	if err := role.checkNames(cn, dns, ips); err != nil {
		return nil, nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	t := &x509.Certificate{SerialNumber: serial, DNSNames: dns, IPAddresses: ips, BasicConstraintsValid: true,
		Subject:  pkix.Name{CommonName: cn, Organization: role.Organization, OrganizationalUnit: role.OU, Country: role.Country},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageKeyAgreement}
	if role.ServerFlag {
		t.ExtKeyUsage = append(t.ExtKeyUsage, x509.ExtKeyUsageServerAuth)
	}
	if role.ClientFlag {
		t.ExtKeyUsage = append(t.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	var warnings []string
	if t.NotBefore, t.NotAfter, warnings, err = m.validity(f, role, ca.cert); err != nil {
		return nil, nil, err
	}
	return t, warnings, nil
}

// issue serves issue/<role>: a new key and its certificate.
func (m mount) issue() (keeper.EngineResponse, error) {
	f := m.f
	role, err := m.loadRole(m.p["role"])
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	ca, err := m.requireCA()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	cn, dns, ips, err := namesFrom(f)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	tmpl, warnings, err := m.leafTemplate(f, role, ca, cn, dns, ips)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	typ, bits := role.KeyType, role.KeyBits
	if typ == "any" {
		typ, bits = keyRSA, 0
	}
	key, err := generateKey(typ, bits)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	spki, err := key.spki()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	der, err := createCertificate(tmpl, spki, ca.cert, ca.key)
	if err != nil {
		return keeper.EngineResponse{}, fmt.Errorf("issue certificate: %w", err)
	}
	return m.issued(der, ca, key, role.NoStore, warnings)
}

// sign serves sign/<role>: a certificate for the CSR's key.
func (m mount) sign() (keeper.EngineResponse, error) {
	f := m.f
	role, err := m.loadRole(m.p["role"])
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	ca, csr, err := m.caAndCSR(f)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := role.checkCSRKey(csr.PublicKey, csr.RawSubjectPublicKeyInfo); err != nil {
		return keeper.EngineResponse{}, err
	}
	cn, dns, ips, err := namesFrom(f)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if cn == "" {
		cn = csr.Subject.CommonName
	}
	dns = append(dns, csr.DNSNames...)
	ips = append(ips, csr.IPAddresses...)
	tmpl, warnings, err := m.leafTemplate(f, role, ca, cn, dns, ips)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	der, err := createCertificate(tmpl, csr.RawSubjectPublicKeyInfo, ca.cert, ca.key)
	if err != nil {
		return keeper.EngineResponse{}, fmt.Errorf("sign certificate: %w", err)
	}
	return m.issued(der, ca, nil, role.NoStore, warnings)
}
