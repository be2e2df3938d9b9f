// Package pki is SecretumVault's PKI engine with OpenBao's API: a root or
// intermediate CA per mount, roles, issue and sign, revocation and a CRL,
// with ML-DSA-65 certificates as an experimental key type. It runs inside
// vault-crypto: CA keys are generated there, stored sealed by the barrier
// and never leave it.
package pki

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

var invalid = engine.Invalid

// Engine serves pki mounts.
type Engine struct{ st *storage.Store }

// New returns a PKI engine over st (sealed by the keeper itself).
func New(st *storage.Store) *Engine { return &Engine{st: st} }

const (
	defaultTTL     = 768 * time.Hour // Vault's default maximum lease TTL
	backdate       = 30 * time.Second
	crlLifetime    = 72 * time.Hour
	maxCommonNames = 100
)

var roleName = regexp.MustCompile(`^\w([\w.-]*\w)?$`)

// mount is one request's view of a mount's storage.
type mount struct {
	e      *Engine
	ctx    context.Context
	prefix string
}

func (m mount) path(p string) string { return m.prefix + p }

func (m mount) get(p string, v any) (int, error) { return m.e.st.GetJSON(m.ctx, m.path(p), v) }

func (m mount) put(p string, v any, rev int) error { return m.e.st.PutJSON(m.ctx, m.path(p), v, rev) }

// Serve routes one request.
func (e *Engine) Serve(ctx context.Context, req keeper.EngineRequest) (keeper.EngineResponse, error) {
	f, err := engine.ParseFields(req.Body)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	m := mount{e: e, ctx: ctx, prefix: "logical/" + req.MountUUID + "/"}
	p, op := req.Path, req.Operation
	read, write := op == "read", op == "update"
	switch {
	case write && (p == "root/generate/internal" || p == "root/generate/exported"):
		return m.generateRoot(f, strings.HasSuffix(p, "exported"))
	case op == "delete" && p == "root":
		return m.deleteRoot()
	case write && p == "root/sign-intermediate":
		return m.signIntermediate(f)
	case write && (p == "intermediate/generate/internal" || p == "intermediate/generate/exported"):
		return m.generateIntermediate(f, strings.HasSuffix(p, "exported"))
	case write && p == "intermediate/set-signed":
		return m.setSigned(f)
	case (op == "list" || read) && p == "roles":
		return m.list("roles/")
	case strings.HasPrefix(p, "roles/"):
		return m.role(op, strings.TrimPrefix(p, "roles/"), f)
	case write && strings.HasPrefix(p, "issue/"):
		return m.issue(strings.TrimPrefix(p, "issue/"), f)
	case write && strings.HasPrefix(p, "sign/"):
		return m.sign(strings.TrimPrefix(p, "sign/"), f)
	case write && p == "revoke":
		return m.revoke(f)
	case (read || write) && p == "crl/rotate":
		if _, err := m.rebuildCRL(); err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.OK(map[string]any{"success": true})
	case (op == "list" || read) && p == "certs":
		return m.list("certs/")
	case read && engine.PublicPKIPath(p):
		return m.fetch(p)
	}
	return engine.Unsupported()
}

func (m mount) list(prefix string) (keeper.EngineResponse, error) {
	return engine.ListKeys(m.ctx, m.e.st, m.path(prefix))
}

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
// own expiry; a TTL above the role's max_ttl is capped with a warning.
func validity(f engine.Fields, role *Role, ca *x509.Certificate) (time.Time, time.Time, []string, error) {
	ttl, err := f.Duration("ttl")
	if err != nil {
		return time.Time{}, time.Time{}, nil, err
	}
	var warnings []string
	if ttl == 0 && role != nil {
		ttl = role.TTL
	}
	if ttl == 0 {
		ttl = defaultTTL
	}
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

func (m mount) generateRoot(f engine.Fields, exported bool) (keeper.EngineResponse, error) {
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
	if ttl == 0 {
		ttl = defaultTTL
	}
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
	return m.installCA(der, key, nil, exported)
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

func (m mount) deleteRoot() (keeper.EngineResponse, error) {
	if err := m.e.st.Delete(m.ctx, m.path("ca"), m.path("crl"), m.path("ca-pending")); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}

// pendingKey is an intermediate's key while its CSR is out for signing.
type pendingKey struct {
	Key []byte `json:"key"`
}

func (m mount) generateIntermediate(f engine.Fields, exported bool) (keeper.EngineResponse, error) {
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

func (m mount) setSigned(f engine.Fields) (keeper.EngineResponse, error) {
	text, err := f.String("certificate")
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

func (m mount) signIntermediate(f engine.Fields) (keeper.EngineResponse, error) {
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
	if tmpl.NotBefore, tmpl.NotAfter, warnings, err = validity(f, nil, ca.cert); err != nil {
		return keeper.EngineResponse{}, err
	}
	der, err := createCertificate(tmpl, csr.RawSubjectPublicKeyInfo, ca.cert, ca.key)
	if err != nil {
		return keeper.EngineResponse{}, fmt.Errorf("sign intermediate: %w", err)
	}
	return m.issued(der, ca, nil, false, warnings)
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

// certRecord is an issued certificate and its revocation.
type certRecord struct {
	Certificate string    `json:"certificate"`
	RevokedAt   time.Time `json:"revoked_at"`
}

func (m mount) loadRole(name string) (*Role, error) {
	if !roleName.MatchString(name) {
		return nil, invalid("invalid role name %q", name)
	}
	r := &Role{}
	rev, err := m.get("roles/"+name, r)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		return nil, invalid("unknown role: %s", name)
	}
	return r, nil
}

func (m mount) role(op, name string, f engine.Fields) (keeper.EngineResponse, error) {
	if !roleName.MatchString(name) {
		return keeper.EngineResponse{}, invalid("invalid role name %q", name)
	}
	switch op {
	case "read":
		r := &Role{}
		rev, err := m.get("roles/"+name, r)
		if err != nil || rev == 0 {
			if err != nil {
				return keeper.EngineResponse{}, err
			}
			return engine.NotFound()
		}
		return engine.OK(r.describe())
	case "update":
		r := defaultRole()
		if _, err := m.get("roles/"+name, r); err != nil {
			return keeper.EngineResponse{}, err
		}
		if err := roleFrom(f, r); err != nil {
			return keeper.EngineResponse{}, err
		}
		if err := m.put("roles/"+name, r, -1); err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.OK(r.describe())
	case "delete":
		if err := m.e.st.Delete(m.ctx, m.path("roles/"+name)); err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.NoContent()
	}
	return engine.Unsupported()
}

// leafTemplate is a certificate for names under role.
func leafTemplate(f engine.Fields, role *Role, ca *caBundle, cn string, dns []string, ips []net.IP) (*x509.Certificate, []string, error) {
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
	if t.NotBefore, t.NotAfter, warnings, err = validity(f, role, ca.cert); err != nil {
		return nil, nil, err
	}
	return t, warnings, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func (m mount) issue(roleName string, f engine.Fields) (keeper.EngineResponse, error) {
	role, err := m.loadRole(roleName)
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
	tmpl, warnings, err := leafTemplate(f, role, ca, cn, dns, ips)
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

func (m mount) sign(roleName string, f engine.Fields) (keeper.EngineResponse, error) {
	role, err := m.loadRole(roleName)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	ca, csr, err := m.caAndCSR(f)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if typ := keyTypeOf(csr.PublicKey, csr.RawSubjectPublicKeyInfo); role.KeyType != "any" && typ != role.KeyType {
		return keeper.EngineResponse{}, invalid("role requires keys of type %s, but the CSR has a %s key", role.KeyType, typ)
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
	tmpl, warnings, err := leafTemplate(f, role, ca, cn, dns, ips)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	der, err := createCertificate(tmpl, csr.RawSubjectPublicKeyInfo, ca.cert, ca.key)
	if err != nil {
		return keeper.EngineResponse{}, fmt.Errorf("sign certificate: %w", err)
	}
	return m.issued(der, ca, nil, role.NoStore, warnings)
}

// crlState is the mount's current CRL and what it lists.
type crlState struct {
	Number  int64             `json:"number"`
	Revoked map[string]string `json:"revoked"` // serial → RFC 3339 revocation time
	DER     []byte            `json:"der"`
}

func (m mount) revoke(f engine.Fields) (keeper.EngineResponse, error) {
	s, err := f.String("serial_number")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	serial, err := normalizeSerial(s)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	ca, err := m.requireCA()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if serial == serialString(ca.cert.SerialNumber) {
		return keeper.EngineResponse{}, invalid("adding the CA to its own CRL is not allowed")
	}
	var rec certRecord
	rev, err := m.get("certs/"+serial, &rec)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if rev == 0 {
		return keeper.EngineResponse{}, invalid("certificate with serial %s not found", serial)
	}
	if rec.RevokedAt.IsZero() {
		rec.RevokedAt = time.Now().UTC().Truncate(time.Second)
		if err := m.put("certs/"+serial, rec, rev); err != nil && !errors.Is(err, storage.ErrConflict) {
			return keeper.EngineResponse{}, err
		}
	}
	if _, err := m.rebuildCRLWith(ca); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.OK(map[string]any{"revocation_time": rec.RevokedAt.Unix(), "revocation_time_rfc3339": rec.RevokedAt.Format(time.RFC3339), "state": "revoked"})
}

func (m mount) rebuildCRL() (*crlState, error) {
	ca, err := m.requireCA()
	if err != nil {
		return nil, err
	}
	return m.rebuildCRLWith(ca)
}

// rebuildCRLWith signs a new CRL listing every revoked certificate of the
// mount, retrying when a concurrent revocation raced it.
func (m mount) rebuildCRLWith(ca *caBundle) (*crlState, error) {
	for attempt := 0; ; attempt++ {
		var st crlState
		rev, err := m.get("crl", &st)
		if err != nil {
			return nil, err
		}
		revoked, err := m.revokedCerts()
		if err != nil {
			return nil, err
		}
		st.Number++
		st.Revoked = map[string]string{}
		now := time.Now().UTC()
		tmpl := &x509.RevocationList{Number: big.NewInt(st.Number), ThisUpdate: now, NextUpdate: now.Add(crlLifetime)}
		for serial, at := range revoked {
			n, _ := new(big.Int).SetString(strings.ReplaceAll(serial, ":", ""), 16)
			tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at})
			st.Revoked[serial] = at.Format(time.RFC3339)
		}
		if st.DER, err = createCRL(tmpl, ca.cert, ca.key); err != nil {
			return nil, fmt.Errorf("sign CRL: %w", err)
		}
		if rev == 0 {
			rev = -1 // the first CRL of a mount
		}
		err = m.put("crl", st, rev)
		if err == nil {
			return &st, nil
		}
		if !errors.Is(err, storage.ErrConflict) || attempt == 4 {
			return nil, err
		}
	}
}

// revokedCerts reads every stored certificate's revocation state.
func (m mount) revokedCerts() (map[string]time.Time, error) {
	serials, err := m.e.st.List(m.ctx, m.path("certs/"))
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(serials))
	for i, s := range serials {
		paths[i] = m.path("certs/" + s)
	}
	out := map[string]time.Time{}
	if len(paths) == 0 {
		return out, nil
	}
	got, err := m.e.st.Get(m.ctx, paths...)
	if err != nil {
		return nil, err
	}
	for p, ent := range got {
		var rec certRecord
		if err := json.Unmarshal(ent.Data, &rec); err != nil {
			return nil, fmt.Errorf("decode %s: %w", p, err)
		}
		if !rec.RevokedAt.IsZero() {
			out[strings.TrimPrefix(p, m.path("certs/"))] = rec.RevokedAt
		}
	}
	return out, nil
}

// fetch serves the public paths: CA, chain and CRL in DER or PEM, and
// certificates by serial.
func (m mount) fetch(p string) (keeper.EngineResponse, error) {
	raw := func(body []byte, contentType string) (keeper.EngineResponse, error) {
		return keeper.EngineResponse{Status: http.StatusOK, Raw: body, ContentType: contentType}, nil
	}
	if strings.HasPrefix(p, "cert/") && p != "cert/ca" && p != "cert/ca_chain" && p != "cert/crl" {
		serial, err := normalizeSerial(strings.TrimPrefix(p, "cert/"))
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		var rec certRecord
		rev, err := m.get("certs/"+serial, &rec)
		if err != nil || rev == 0 {
			if err != nil {
				return keeper.EngineResponse{}, err
			}
			return engine.NotFound()
		}
		out := map[string]any{"certificate": rec.Certificate, "revocation_time": int64(0)}
		if !rec.RevokedAt.IsZero() {
			out["revocation_time"], out["revocation_time_rfc3339"] = rec.RevokedAt.Unix(), rec.RevokedAt.Format(time.RFC3339)
		}
		return engine.OK(out)
	}
	ca, err := m.loadCA()
	if err != nil || ca == nil {
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.NotFound()
	}
	switch p {
	case "ca":
		return raw(ca.cert.Raw, "application/pkix-cert")
	case "ca/pem":
		return raw([]byte(ca.Certificate), "application/pem-certificate-chain")
	case "ca_chain":
		return raw([]byte(strings.Join(ca.chainPEM(), "")), "application/pem-certificate-chain")
	case "cert/ca":
		return engine.OK(map[string]any{"certificate": ca.Certificate, "ca_chain": ca.chainPEM()})
	case "cert/ca_chain":
		return engine.OK(map[string]any{"certificate": strings.Join(ca.chainPEM(), ""), "ca_chain": ca.chainPEM()})
	}
	var st crlState
	rev, err := m.get("crl", &st)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if rev == 0 {
		cur, err := m.rebuildCRLWith(ca)
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		st = *cur
	}
	crlPEM := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: st.DER})
	switch p {
	case "crl":
		return raw(st.DER, "application/pkix-crl")
	case "crl/pem":
		return raw(crlPEM, "application/x-pem-file")
	}
	return engine.OK(map[string]any{"certificate": string(crlPEM)}) // cert/crl
}
