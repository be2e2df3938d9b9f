package pki

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

func newSerial() (*big.Int, error) {
	b := make([]byte, 20)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	b[0] &= 0x7f // positive, at most 20 octets (RFC 5280)
	return new(big.Int).SetBytes(b), nil
}

// serialString is Vault's colon-separated hex form.
func serialString(n *big.Int) string {
	b := n.Bytes()
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = hex.EncodeToString([]byte{x})
	}
	return strings.Join(parts, ":")
}

// normalizeSerial accepts colons or dashes, any case.
func normalizeSerial(s string) (string, error) {
	s = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), "-", ":"))
	raw, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	n := new(big.Int).SetBytes(raw)
	if err != nil || n.Sign() == 0 || len(raw) > 20 {
		return "", invalid("invalid serial number %q", s)
	}
	return serialString(n), nil
}

func pemCert(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// subjectFrom reads the subject fields shared by CA and leaf requests.
func subjectFrom(f engine.Fields, cn string) (pkix.Name, error) {
	n := pkix.Name{CommonName: cn}
	var errs []error
	for field, dst := range map[string]*[]string{"organization": &n.Organization, "ou": &n.OrganizationalUnit,
		"country": &n.Country, "locality": &n.Locality, "province": &n.Province} {
		v, err := f.Strings(field)
		errs = append(errs, err)
		*dst = v
	}
	return n, engine.First(errs...)
}

// namesFrom reads common_name, alt_names and ip_sans.
func namesFrom(f engine.Fields) (string, []string, []net.IP, error) {
	cn, err := f.String("common_name")
	if err != nil {
		return "", nil, nil, err
	}
	alt, err := f.Strings("alt_names")
	if err != nil {
		return "", nil, nil, err
	}
	rawIPs, err := f.Strings("ip_sans")
	if err != nil {
		return "", nil, nil, err
	}
	if len(alt) > maxCommonNames {
		return "", nil, nil, invalid("too many alt_names (at most %d)", maxCommonNames)
	}
	var ips []net.IP
	for _, s := range rawIPs {
		ip := net.ParseIP(s)
		if ip == nil {
			return "", nil, nil, invalid("the value %q is not a valid IP address", s)
		}
		ips = append(ips, ip)
	}
	return cn, alt, ips, nil
}

// validity computes NotBefore/NotAfter from ttl, role limits and the CA's
// own expiry and the mount's tuned TTLs; a TTL above the role's max_ttl or
// the mount's max_lease_ttl is capped with a warning.
func (m mount) validity(f engine.Fields, role *Role, ca *x509.Certificate) (time.Time, time.Time, []string, error) {
	ttl, err := f.Duration("ttl")
	if err != nil {
		return time.Time{}, time.Time{}, nil, err
	}
	if ttl == 0 && role != nil {
		ttl = role.TTL
	}
	ttl, warnings := m.mountTTL(ttl)
	if role != nil && role.MaxTTL > 0 && ttl > role.MaxTTL {
		warnings = append(warnings, fmt.Sprintf("TTL %q is longer than the role's max_ttl %q; capping", ttl, role.MaxTTL))
		ttl = role.MaxTTL
	}
	now := time.Now().UTC()
	notAfter := now.Add(ttl)
	if ca != nil && notAfter.After(ca.NotAfter) {
		return time.Time{}, time.Time{}, nil, invalid("cannot satisfy request, as TTL would result in notAfter %s that is beyond the expiration of the CA certificate at %s",
			notAfter.Format(time.RFC3339), ca.NotAfter.UTC().Format(time.RFC3339))
	}
	return now.Add(-backdate), notAfter, warnings, nil
}

// parseCSR reads and checks a CSR's signature (ML-DSA-65 ones included).
func parseCSR(text string) (*x509.CertificateRequest, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST" {
		return nil, invalid("csr: no PEM CERTIFICATE REQUEST found")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, invalid("csr: %v", err)
	}
	if keyTypeOf(csr.PublicKey, csr.RawSubjectPublicKeyInfo) == keyMLDSA {
		err = verifyMLDSA(csr.RawSubjectPublicKeyInfo, csr.RawTBSCertificateRequest, csr.Signature)
	} else {
		err = csr.CheckSignature()
	}
	if err != nil {
		return nil, invalid("csr signature does not verify: %v", err)
	}
	return csr, nil
}

// parsePEMCerts reads every CERTIFICATE block of a PEM bundle.
func parsePEMCerts(text string) ([]*x509.Certificate, []string, error) {
	var certs []*x509.Certificate
	var pems []string
	rest := []byte(text)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, nil, invalid("invalid certificate: %v", err)
		}
		certs = append(certs, c)
		pems = append(pems, pemCert(block.Bytes))
	}
	if len(certs) == 0 {
		return nil, nil, invalid("no certificate found in the PEM input")
	}
	return certs, pems, nil
}

// certRecord is an issued certificate and its revocation.
type certRecord struct {
	Certificate string    `json:"certificate"`
	RevokedAt   time.Time `json:"revoked_at"`
}

// issued stores a new certificate (unless the role says not to) and
// answers with it, its chain and, for issue, its private key.
func (m mount) issued(der []byte, ca *caBundle, key *keyPair, noStore bool, warnings []string) (keeper.EngineResponse, error) {
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	serial := serialString(c.SerialNumber)
	if !noStore {
		if err := m.put("certs/"+serial, certRecord{Certificate: pemCert(der)}, 0); err != nil {
			return keeper.EngineResponse{}, err
		}
	}
	out := map[string]any{"certificate": pemCert(der), "issuing_ca": ca.Certificate, "ca_chain": ca.chainPEM(),
		"serial_number": serial, "expiration": c.NotAfter.Unix()}
	if key != nil {
		pk, err := key.privatePEM()
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		out["private_key"], out["private_key_type"] = pk, key.Type
	}
	res, err := engine.OK(out)
	res.Warnings = warnings
	return res, err
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
