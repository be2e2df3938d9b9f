package transit

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/mlkem"
	"crypto/sha3"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/cloudflare/circl/kem"
	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
)

// ML-KEM-768 and X-Wing keys encrypt with RFC 9180 HPKE in base mode: the
// key's KEM (ML-KEM-768, KEM id 0x0041, or X-Wing = MLKEM768-X25519, KEM id
// 0x647a, as draft-ietf-hpke-pq assigns them), HKDF-SHA256 and AES-256-GCM,
// info = "stratum/transit/<key name>/v<version>" and no AAD. The payload of
// the "vault:vN:" string is HPKE's enc ‖ ciphertext, exactly what a
// single-shot HPKE Seal returns, so any HPKE implementation with these
// KEMs can produce or open it.

// kemInfo describes one post-quantum KEM type.
type kemInfo struct {
	kem       func() hpke.KEM
	publicLen int // encapsulation key
	encLen    int // HPKE enc (the KEM ciphertext)
	seedLen   int // private key: FIPS 203 d ‖ z, or the X-Wing seed
	oid       asn1.ObjectIdentifier
}

var (
	// id-alg-ml-kem-768 (NIST CSOR; RFC 9935 for its SubjectPublicKeyInfo).
	oidMLKEM768 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 4, 2}
	// id-XWing (draft-connolly-cfrg-xwing-kem); X-Wing has no NIST OID.
	oidXWing = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 62253, 25722}
	// id-ml-dsa-65 (NIST CSOR; RFC 9881).
	oidMLDSA65 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}
)

var kems = map[KeyType]kemInfo{
	MLKEM768: {kem: hpke.MLKEM768, publicLen: 1184, encLen: 1088, seedLen: 64, oid: oidMLKEM768},
	XWing:    {kem: hpke.MLKEM768X25519, publicLen: 1216, encLen: 1120, seedLen: 32, oid: oidXWing},
}

// aeadOverhead is AES-256-GCM's tag: the shortest HPKE ciphertext after enc.
const aeadOverhead = 16

// HPKEInfo is the HPKE info of a key version: it binds every ciphertext to
// the key's name and version.
func HPKEInfo(name string, version int) []byte {
	return []byte("stratum/transit/" + name + "/v" + strconv.Itoa(version))
}

// sealHPKE encrypts plaintext to an HPKE public key of the key version.
func sealHPKE(pub hpke.PublicKey, name string, version int, plaintext []byte) ([]byte, error) {
	out, err := hpke.Seal(pub, hpke.HKDFSHA256(), hpke.AES256GCM(), HPKEInfo(name, version), plaintext)
	if err != nil {
		return nil, fmt.Errorf("hpke seal: %w", err)
	}
	return out, nil
}

// hpkePublicKey checks a raw public key's length and makes it an HPKE key.
func hpkePublicKey(t KeyType, raw []byte) (hpke.PublicKey, error) {
	k, ok := kems[t]
	if !ok {
		return nil, invalid("key type %s does not encrypt to a public key", t)
	}
	if len(raw) != k.publicLen {
		return nil, invalid("invalid public key: an %s public key is %d bytes, got %d", t, k.publicLen, len(raw))
	}
	pub, err := k.kem().NewPublicKey(raw)
	if err != nil {
		return nil, invalid("invalid %s public key: %v", t, err)
	}
	return pub, nil
}

// EncryptToPublicKey encrypts offline: with only the published public key of
// version of key name, it makes the same "vault:vN:" ciphertext the vault
// makes, which the vault decrypts.
func EncryptToPublicKey(t KeyType, public []byte, name string, version int, plaintext []byte) (string, error) {
	if !keyName.MatchString(name) {
		return "", invalid("invalid key name %q", name)
	}
	if version < 1 {
		return "", invalid("invalid key version %d: versions start at 1", version)
	}
	pub, err := hpkePublicKey(t, public)
	if err != nil {
		return "", err
	}
	out, err := sealHPKE(pub, name, version, plaintext)
	if err != nil {
		return "", err
	}
	return formatPrefixed(version, out), nil
}

// openHPKE decrypts an HPKE payload for version of the key, naming the problem.
func (p *Policy) openHPKE(version int, priv hpke.PrivateKey, raw []byte) ([]byte, error) {
	k := kems[p.Type]
	if len(raw) < k.encLen+aeadOverhead {
		return nil, invalid("invalid ciphertext: too short: an %s ciphertext is the %d-byte HPKE enc and at least %d bytes of AES-256-GCM ciphertext, got %d bytes in all",
			p.Type, k.encLen, aeadOverhead, len(raw))
	}
	plain, err := hpke.Open(priv, hpke.HKDFSHA256(), hpke.AES256GCM(), HPKEInfo(p.Name, version), raw)
	if err != nil {
		return nil, errNotThisVersion(p.Name, version)
	}
	return plain, nil
}

// errNotThisVersion is a KEM ciphertext that does not open: one made for
// another key or version (the HPKE info differs), or altered.
func errNotThisVersion(name string, version int) error {
	return invalid("cipher: message authentication failed: the ciphertext was not made for version %d of key %q, or it was altered", version, name)
}

// newHPKEPrivateKey makes a version's HPKE private key from its seed, as
// crypto/hpke's KEM.NewPrivateKey does (RFC 9180 DeserializePrivateKey; for
// X-Wing, SHAKE256(seed) gives the ML-KEM-768 seed d ‖ z then the X25519
// key), but with circl's ML-KEM-768 decapsulation plugged in through
// crypto.Decapsulator: on amd64 its AVX2 assembly is about 2.5 times as fast
// as Go's, which keeps decryption close to its speed before HPKE.
// Everything else, and all of encryption (crypto/hpke encapsulates only to
// its own crypto/mlkem keys), is crypto/hpke's.
func newHPKEPrivateKey(t KeyType, seed []byte) (hpke.PrivateKey, error) {
	pqSeed, xSeed := seed, []byte(nil)
	if t == XWing {
		s := sha3.NewSHAKE256()
		s.Write(seed)
		pqSeed, xSeed = make([]byte, mlkem.SeedSize), make([]byte, 32)
		s.Read(pqSeed)
		s.Read(xSeed)
	}
	ek, err := mlkem.NewDecapsulationKey768(pqSeed)
	if err != nil {
		return nil, err
	}
	_, priv := mlkem768.Scheme().DeriveKeyPair(pqSeed)
	pq := &circlDecapsulator{priv: priv, ek: ek.EncapsulationKey()}
	if t == MLKEM768 {
		return hpke.NewMLKEMPrivateKey(pq)
	}
	x, err := ecdh.X25519().NewPrivateKey(xSeed)
	if err != nil {
		return nil, err
	}
	return hpke.NewHybridPrivateKey(pq, x)
}

// circlDecapsulator is circl's ML-KEM-768 decapsulation as a crypto.Decapsulator.
type circlDecapsulator struct {
	priv kem.PrivateKey
	ek   *mlkem.EncapsulationKey768
}

func (d *circlDecapsulator) Encapsulator() crypto.Encapsulator { return d.ek }

func (d *circlDecapsulator) Decapsulate(ciphertext []byte) ([]byte, error) {
	secret, err := mlkem768.Scheme().Decapsulate(d.priv, ciphertext)
	clearUpperAVX()
	return secret, err
}

// subjectPublicKeyInfo is X.509's SPKI.
type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// spkiOID is the SubjectPublicKeyInfo algorithm of the post-quantum types
// that have one (the hybrid signature has none).
func spkiOID(t KeyType) (asn1.ObjectIdentifier, bool) {
	if k, ok := kems[t]; ok {
		return k.oid, true
	}
	if t == MLDSA65 {
		return oidMLDSA65, true
	}
	return nil, false
}

// MarshalSPKI is the SubjectPublicKeyInfo DER of a raw ML-KEM-768, X-Wing or
// ML-DSA-65 public key: the algorithm OID with absent parameters, and the
// raw key as the bit string (RFC 9935, RFC 9881, the X-Wing draft).
func MarshalSPKI(t KeyType, raw []byte) ([]byte, error) {
	oid, ok := spkiOID(t)
	if !ok {
		return nil, invalid("key type %s has no SubjectPublicKeyInfo encoding", t)
	}
	return asn1.Marshal(subjectPublicKeyInfo{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oid},
		PublicKey: asn1.BitString{Bytes: raw, BitLength: 8 * len(raw)}})
}

// ParseSPKI reads an ML-KEM-768, X-Wing or ML-DSA-65 SubjectPublicKeyInfo.
func ParseSPKI(der []byte) (KeyType, []byte, error) {
	var info subjectPublicKeyInfo
	rest, err := asn1.Unmarshal(der, &info)
	if err != nil || len(rest) > 0 {
		return "", nil, invalid("invalid SubjectPublicKeyInfo: not one DER structure")
	}
	if len(info.Algorithm.Parameters.FullBytes) > 0 {
		return "", nil, invalid("invalid SubjectPublicKeyInfo: algorithm parameters must be absent")
	}
	for _, t := range []KeyType{MLKEM768, XWing, MLDSA65} {
		if oid, _ := spkiOID(t); info.Algorithm.Algorithm.Equal(oid) {
			return t, info.PublicKey.RightAlign(), nil
		}
	}
	return "", nil, invalid("SubjectPublicKeyInfo algorithm %v is not ml-kem-768, x-wing or ml-dsa-65", info.Algorithm.Algorithm)
}

// ParseEncryptionKey reads a public key to encrypt to, as a file holds it:
// PEM ("PUBLIC KEY", SubjectPublicKeyInfo), SPKI DER, base64 of the raw
// key as reading the key shows it, or the raw bytes. The raw forms say their
// type by their length (1184 bytes ML-KEM-768, 1216 X-Wing).
func ParseEncryptionKey(data []byte) (KeyType, []byte, error) {
	if block, _ := pem.Decode(data); block != nil {
		if block.Type != "PUBLIC KEY" {
			return "", nil, invalid("invalid public key: PEM block %q, want PUBLIC KEY", block.Type)
		}
		data = block.Bytes
	} else if text := bytes.TrimSpace(data); utf8.Valid(text) && len(text) > 0 {
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(text))); err == nil {
			data = raw
		}
	}
	t, raw, err := ParseSPKI(data)
	if err != nil {
		t, raw = "", data
		for typ, k := range kems {
			if len(data) == k.publicLen {
				t = typ
			}
		}
		if t == "" {
			return "", nil, invalid("invalid public key: %d bytes is neither an ML-KEM-768 (1184) nor an X-Wing (1216) key, nor a SubjectPublicKeyInfo", len(data))
		}
	}
	if _, ok := kems[t]; !ok {
		return "", nil, invalid("invalid public key: %s keys do not encrypt", t)
	}
	if _, err := hpkePublicKey(t, raw); err != nil {
		return "", nil, err
	}
	return t, raw, nil
}

// publicKeyPEM is the PEM of a version's SubjectPublicKeyInfo, for the
// post-quantum types that have one: what X.509 tools and offline encryption read.
func publicKeyPEM(t KeyType, raw []byte) (string, error) {
	der, err := MarshalSPKI(t, raw)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}
