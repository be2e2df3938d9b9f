package pki

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"net"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
)

// Role is what issue/<role> and sign/<role> may put in a certificate.
type Role struct {
	AllowedDomains   []string      `json:"allowed_domains"`
	AllowSubdomains  bool          `json:"allow_subdomains"`
	AllowBareDomains bool          `json:"allow_bare_domains"`
	AllowAnyName     bool          `json:"allow_any_name"`
	AllowLocalhost   bool          `json:"allow_localhost"`
	AllowIPSANs      bool          `json:"allow_ip_sans"`
	EnforceHostnames bool          `json:"enforce_hostnames"`
	ServerFlag       bool          `json:"server_flag"`
	ClientFlag       bool          `json:"client_flag"`
	KeyType          string        `json:"key_type"`
	KeyBits          int           `json:"key_bits"`
	TTL              time.Duration `json:"ttl"`
	MaxTTL           time.Duration `json:"max_ttl"`
	NoStore          bool          `json:"no_store"`
	Organization     []string      `json:"organization"`
	OU               []string      `json:"ou"`
	Country          []string      `json:"country"`
}

// roleFrom applies a roles/<name> write to an existing role (or the defaults).
func roleFrom(f engine.Fields, r *Role) error {
	oldType := r.KeyType
	errs := []error{
		f.Set("allowed_domains", &r.AllowedDomains), f.Set("allow_subdomains", &r.AllowSubdomains),
		f.Set("allow_bare_domains", &r.AllowBareDomains), f.Set("allow_any_name", &r.AllowAnyName),
		f.Set("allow_localhost", &r.AllowLocalhost), f.Set("allow_ip_sans", &r.AllowIPSANs),
		f.Set("enforce_hostnames", &r.EnforceHostnames), f.Set("server_flag", &r.ServerFlag),
		f.Set("client_flag", &r.ClientFlag), f.Set("no_store", &r.NoStore), f.Set("organization", &r.Organization),
		f.Set("ou", &r.OU), f.Set("country", &r.Country), f.Set("ttl", &r.TTL), f.Set("max_ttl", &r.MaxTTL),
		f.Set("key_type", &r.KeyType),
	}
	if r.KeyType != oldType {
		r.KeyBits = 0 // the old size belongs to the old type
	}
	errs = append(errs, f.Set("key_bits", &r.KeyBits))
	if err := engine.First(errs...); err != nil {
		return err
	}
	if r.KeyType != "any" {
		bits, err := checkKeyType(r.KeyType, r.KeyBits)
		if err != nil {
			return err
		}
		r.KeyBits = bits
	}
	if r.MaxTTL > 0 && r.TTL > r.MaxTTL {
		return invalid("\"ttl\" value must be less than \"max_ttl\" value")
	}
	return nil
}

func defaultRole() *Role {
	return &Role{AllowLocalhost: true, AllowIPSANs: true, EnforceHostnames: true, ServerFlag: true, ClientFlag: true, KeyType: keyRSA}
}

// hostname is RFC 1123 labels, with an optional leading wildcard label.
func validHostname(name string) bool {
	name = strings.TrimPrefix(name, "*.")
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// allows reports whether the role permits name as a common name or DNS SAN.
func (r *Role) allows(name string) bool {
	if r.EnforceHostnames && !validHostname(name) {
		return false
	}
	if r.AllowAnyName {
		return true
	}
	if r.AllowLocalhost && name == "localhost" {
		return true
	}
	lower := strings.ToLower(name)
	for _, d := range r.AllowedDomains {
		d = strings.ToLower(d)
		if r.AllowBareDomains && lower == d {
			return true
		}
		if r.AllowSubdomains && strings.HasSuffix(lower, "."+d) {
			return true
		}
	}
	return false
}

// checkNames validates the names of a request against the role. A common
// name is checked like any name, as OpenBao does (an IP address is a valid
// hostname there), and one that is an IP address also needs allow_ip_sans.
func (r *Role) checkNames(cn string, dns []string, ips []net.IP) error {
	if cn != "" && (!r.allows(cn) || net.ParseIP(cn) != nil && !r.AllowIPSANs) {
		return invalid("common name %s not allowed by this role", cn)
	}
	for _, n := range dns {
		if !r.allows(n) {
			return invalid("subject alternate name %s not allowed by this role", n)
		}
	}
	if len(ips) > 0 && !r.AllowIPSANs {
		return invalid("IP Subject Alternative Names are not allowed in this role, but was provided %s", ips[0])
	}
	return nil
}

// checkCSRKey checks a CSR's key against the role's key_type and key_bits,
// with OpenBao's errors: the role's type and at least the role's size; a
// role of any type takes no RSA key under 2048 bits and no EC key under 224.
func (r *Role) checkCSRKey(pub any, rawSPKI []byte) error {
	typ := keyTypeOf(pub, rawSPKI)
	if r.KeyType != "any" && typ != r.KeyType {
		return invalid("role requires keys of type %s, but the CSR has a %s key", r.KeyType, typ)
	}
	bits := 0
	switch k := pub.(type) {
	case *rsa.PublicKey:
		bits = k.N.BitLen()
	case *ecdsa.PublicKey:
		bits = k.Params().BitSize
	default:
		return nil // ed25519 and ML-DSA-65 keys have one size
	}
	least := r.KeyBits
	if r.KeyType == "any" {
		least = map[string]int{keyRSA: 2048, keyEC: 224}[typ]
		if typ == keyRSA && bits < least {
			return invalid("RSA keys < 2048 bits are unsafe and not supported")
		}
	}
	if bits < least { // a role's own key_bits is never under those floors (checkKeyType)
		return invalid("role requires a minimum of a %d-bit key, but CSR's key is %d bits", least, bits)
	}
	return nil
}

// describe is what reading roles/<name> shows.
func (r *Role) describe() map[string]any {
	return map[string]any{
		"allowed_domains": nonNil(r.AllowedDomains), "allow_subdomains": r.AllowSubdomains, "allow_bare_domains": r.AllowBareDomains,
		"allow_any_name": r.AllowAnyName, "allow_localhost": r.AllowLocalhost, "allow_ip_sans": r.AllowIPSANs,
		"enforce_hostnames": r.EnforceHostnames, "server_flag": r.ServerFlag, "client_flag": r.ClientFlag,
		"key_type": r.KeyType, "key_bits": r.KeyBits, "ttl": int64(r.TTL.Seconds()), "max_ttl": int64(r.MaxTTL.Seconds()),
		"no_store": r.NoStore, "organization": nonNil(r.Organization), "ou": nonNil(r.OU), "country": nonNil(r.Country),
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
