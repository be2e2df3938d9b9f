package transit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hpke"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"time"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
)

// KeyType is a transit key type, named as OpenBao names it; the
// post-quantum types are ours, in the same shapes.
type KeyType string

const (
	AES128GCM96       KeyType = "aes128-gcm96"
	AES256GCM96       KeyType = "aes256-gcm96"
	ChaCha20Poly1305  KeyType = "chacha20-poly1305"
	XChaCha20Poly1305 KeyType = "xchacha20-poly1305"
	ECDSAP256         KeyType = "ecdsa-p256"
	ECDSAP384         KeyType = "ecdsa-p384"
	ECDSAP521         KeyType = "ecdsa-p521"
	Ed25519           KeyType = "ed25519"
	RSA2048           KeyType = "rsa-2048"
	RSA3072           KeyType = "rsa-3072"
	RSA4096           KeyType = "rsa-4096"
	HMAC              KeyType = "hmac"
	MLDSA65           KeyType = "ml-dsa-65"
	MLKEM768          KeyType = "ml-kem-768"
	XWing             KeyType = "x-wing"
	Ed25519MLDSA65    KeyType = "ed25519+ml-dsa-65"
)

// keyTypes lists every type in the order the docs present them.
var keyTypes = []KeyType{AES128GCM96, AES256GCM96, ChaCha20Poly1305, XChaCha20Poly1305,
	ECDSAP256, ECDSAP384, ECDSAP521, Ed25519, RSA2048, RSA3072, RSA4096, HMAC,
	MLDSA65, MLKEM768, XWing, Ed25519MLDSA65}

// ParseKeyType names the problem with an unknown type.
func ParseKeyType(s string) (KeyType, error) {
	for _, t := range keyTypes {
		if string(t) == s {
			return t, nil
		}
	}
	return "", invalid("unknown key type %q", s)
}

func (t KeyType) symmetric() bool {
	switch t {
	case AES128GCM96, AES256GCM96, ChaCha20Poly1305, XChaCha20Poly1305:
		return true
	}
	return false
}

// kem reports a post-quantum key-encapsulation type.
func (t KeyType) kem() bool { return t == MLKEM768 || t == XWing }

func (t KeyType) rsa() bool { return t == RSA2048 || t == RSA3072 || t == RSA4096 }

func (t KeyType) ecdsa() bool { return t == ECDSAP256 || t == ECDSAP384 || t == ECDSAP521 }

func (t KeyType) canEncrypt() bool { return t.symmetric() || t.kem() || t.rsa() }

func (t KeyType) canSign() bool {
	return t.ecdsa() || t.rsa() || t == Ed25519 || t == MLDSA65 || t == Ed25519MLDSA65
}

func (t KeyType) asymmetric() bool { return !t.symmetric() && t != HMAC }

// postQuantum reports the types no other Vault has.
func (t KeyType) postQuantum() bool {
	return t == MLDSA65 || t == MLKEM768 || t == XWing || t == Ed25519MLDSA65
}

// KeyVersion is one version of a key. Material is the type's canonical
// private form: the raw key for symmetric and HMAC keys, PKCS#8 DER for
// ECDSA, Ed25519 and RSA, the FIPS 203/204 seed for ML-KEM and ML-DSA, the
// X-Wing seed, and the Ed25519 seed followed by the ML-DSA seed for the
// hybrid. Every version also has its own HMAC key. Format is the payload
// format of a KEM version's ciphertexts (see formatHPKE).
type KeyVersion struct {
	Material []byte    `json:"material"`
	HMACKey  []byte    `json:"hmac_key"`
	Created  time.Time `json:"created"`
	Format   int       `json:"format,omitempty"`

	parsed *parsedKey
}

// Payload formats of ML-KEM-768 and X-Wing ciphertexts. Every version
// encrypts with HPKE; a version created before HPKE (format 0, which its
// stored form lacks) also decrypts the first layout, KEM ciphertext ‖
// nonce ‖ AES-256-GCM under the raw shared secret, so those ciphertexts keep
// decrypting and rewrap moves them to HPKE.
const (
	formatLegacyKEM = 0
	formatHPKE      = 1
)

// parsedKey is a version's material decoded once per process.
type parsedKey struct {
	signer   crypto.Signer // ecdsa, ed25519, rsa
	mldsa    *mldsa65.PrivateKey
	mldsaPub *mldsa65.PublicKey
	hpkePriv hpke.PrivateKey // ml-kem-768, x-wing
	hpkePub  hpke.PublicKey
	legacy   *legacyKEM // versions of formatLegacyKEM only
	public   []byte     // raw public key for the PQC and ed25519 types
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // never fails on Linux
	}
	return b
}

// newVersion generates the material of a new key version. hmacSize is the
// key size for hmac-type keys.
func newVersion(t KeyType, hmacSize int) (*KeyVersion, error) {
	v := &KeyVersion{HMACKey: randomBytes(32), Created: time.Now().UTC()}
	var err error
	switch t {
	case AES128GCM96:
		v.Material = randomBytes(16)
	case AES256GCM96, ChaCha20Poly1305, XChaCha20Poly1305:
		v.Material = randomBytes(32)
	case HMAC:
		v.Material = randomBytes(hmacSize)
	case ECDSAP256, ECDSAP384, ECDSAP521:
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.GenerateKey(curveOf(t), rand.Reader); err == nil {
			v.Material, err = x509.MarshalPKCS8PrivateKey(k)
		}
	case Ed25519:
		_, k, _ := ed25519.GenerateKey(rand.Reader)
		v.Material, err = x509.MarshalPKCS8PrivateKey(k)
	case RSA2048, RSA3072, RSA4096:
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand.Reader, rsaBits(t)); err == nil {
			v.Material, err = x509.MarshalPKCS8PrivateKey(k)
		}
	case MLDSA65:
		v.Material = randomBytes(mldsa65.SeedSize)
	case MLKEM768, XWing:
		v.Material, v.Format = randomBytes(kems[t].seedLen), formatHPKE
	case Ed25519MLDSA65:
		v.Material = randomBytes(ed25519.SeedSize + mldsa65.SeedSize)
	default:
		return nil, invalid("unknown key type %q", t)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", t, err)
	}
	return v, nil
}

func curveOf(t KeyType) elliptic.Curve {
	switch t {
	case ECDSAP384:
		return elliptic.P384()
	case ECDSAP521:
		return elliptic.P521()
	}
	return elliptic.P256()
}

func rsaBits(t KeyType) int {
	switch t {
	case RSA3072:
		return 3072
	case RSA4096:
		return 4096
	}
	return 2048
}

// parse decodes the version's material, once.
func (v *KeyVersion) parse(t KeyType) (*parsedKey, error) {
	if v.parsed != nil {
		return v.parsed, nil
	}
	p := &parsedKey{}
	switch {
	case t.ecdsa() || t.rsa() || t == Ed25519:
		k, err := x509.ParsePKCS8PrivateKey(v.Material)
		if err != nil {
			return nil, fmt.Errorf("parse %s key: %w", t, err)
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("parse %s key: not a signer", t)
		}
		p.signer = s
		if ed, ok := k.(ed25519.PrivateKey); ok {
			p.public = ed.Public().(ed25519.PublicKey)
		}
	case t == MLDSA65:
		p.mldsaPub, p.mldsa = mldsaFromSeed(v.Material)
		p.public, _ = p.mldsaPub.MarshalBinary()
	case t == Ed25519MLDSA65:
		if len(v.Material) != ed25519.SeedSize+mldsa65.SeedSize {
			return nil, fmt.Errorf("parse %s key: bad material length", t)
		}
		ed := ed25519.NewKeyFromSeed(v.Material[:ed25519.SeedSize])
		p.signer = ed
		p.mldsaPub, p.mldsa = mldsaFromSeed(v.Material[ed25519.SeedSize:])
		mpub, _ := p.mldsaPub.MarshalBinary()
		p.public = append(append([]byte{}, ed.Public().(ed25519.PublicKey)...), mpub...)
	case t.kem():
		if err := v.parseKEM(t, p); err != nil {
			return nil, err
		}
	}
	v.parsed = p
	return p, nil
}

// parseKEM makes the HPKE key pair of an ML-KEM-768 or X-Wing version from
// its seed (FIPS 203 d ‖ z, the X-Wing seed).
func (v *KeyVersion) parseKEM(t KeyType, p *parsedKey) error {
	k := kems[t]
	if len(v.Material) != k.seedLen {
		return fmt.Errorf("parse %s key: seed is %d bytes, want %d", t, len(v.Material), k.seedLen)
	}
	priv, err := newHPKEPrivateKey(t, v.Material)
	if err != nil {
		return fmt.Errorf("parse %s key: %w", t, err)
	}
	p.hpkePriv, p.hpkePub = priv, priv.PublicKey()
	p.public = p.hpkePub.Bytes()
	if v.Format == formatLegacyKEM {
		p.legacy = newLegacyKEM(t, v.Material)
	}
	return nil
}

func mldsaFromSeed(seed []byte) (*mldsa65.PublicKey, *mldsa65.PrivateKey) {
	var s [mldsa65.SeedSize]byte
	copy(s[:], seed)
	return mldsa65.NewKeyFromSeed(&s)
}

// publicKey is what reading the key shows for a version: PEM (PKIX) for
// ECDSA and RSA as OpenBao does, base64 of the raw standard encoding for
// Ed25519 (32 bytes), ML-DSA-65 (FIPS 204, 1952 bytes), ML-KEM-768 (FIPS 203
// encapsulation key, 1184 bytes), X-Wing (1216 bytes) and the hybrid
// (Ed25519 ‖ ML-DSA-65). ML-DSA-65, ML-KEM-768 and X-Wing versions also
// show public_key_pem, their SubjectPublicKeyInfo (publicKeyPEM).
func (v *KeyVersion) publicKey(t KeyType) (string, error) {
	p, err := v.parse(t)
	if err != nil {
		return "", err
	}
	if p.public != nil {
		return base64.StdEncoding.EncodeToString(p.public), nil
	}
	der, err := x509.MarshalPKIXPublicKey(p.signer.Public())
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// keyName is the "name" OpenBao shows for an asymmetric version.
func (t KeyType) keyName() string {
	switch t {
	case ECDSAP256:
		return "P-256"
	case ECDSAP384:
		return "P-384"
	case ECDSAP521:
		return "P-521"
	}
	return string(t)
}

// exportKey renders a version's key for export of the given kind.
func (v *KeyVersion) exportKey(t KeyType, kind string) (string, error) {
	b64 := base64.StdEncoding.EncodeToString
	switch kind {
	case "hmac-key":
		if t == HMAC {
			return b64(v.Material), nil
		}
		return b64(v.HMACKey), nil
	case "public-key":
		if !t.asymmetric() {
			return "", invalid("public-key export is only for asymmetric keys")
		}
		return v.publicKey(t)
	case "encryption-key":
		if !t.canEncrypt() {
			return "", invalid("encryption-key export is not supported for key type %s", t)
		}
	case "signing-key":
		if !t.canSign() {
			return "", invalid("signing-key export is not supported for key type %s", t)
		}
	default:
		return "", invalid("invalid export type %q", kind)
	}
	p, err := v.parse(t)
	if err != nil {
		return "", err
	}
	switch {
	case t.symmetric() || t.postQuantum():
		// PQC keys export as their seed, the FIPS 203/204 private form.
		return b64(v.Material), nil
	case t == Ed25519:
		return b64(p.signer.(ed25519.PrivateKey)), nil
	case t.ecdsa():
		der, err := x509.MarshalECPrivateKey(p.signer.(*ecdsa.PrivateKey))
		if err != nil {
			return "", err
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})), nil
	default: // rsa
		der := x509.MarshalPKCS1PrivateKey(p.signer.(*rsa.PrivateKey))
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})), nil
	}
}
