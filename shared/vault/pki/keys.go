package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
)

// Key types as the PKI API names them; ml-dsa-65 is ours and experimental.
const (
	keyRSA     = "rsa"
	keyEC      = "ec"
	keyEd25519 = "ed25519"
	keyMLDSA   = "ml-dsa-65"
)

// oidMLDSA65 is id-ml-dsa-65 (NIST CSOR, RFC 9881).
var oidMLDSA65 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 18}

// keyPair is a certificate key: a crypto.Signer for the classic types, an
// ML-DSA-65 key (kept as its 32-byte seed) otherwise.
type keyPair struct {
	Type   string
	signer crypto.Signer
	seed   []byte
	mldsa  *mldsa65.PrivateKey
	mpub   *mldsa65.PublicKey
}

// checkKeyType validates key_type and key_bits and returns the bits to use.
func checkKeyType(typ string, bits int) (int, error) {
	switch typ {
	case keyRSA:
		if bits == 0 {
			return 2048, nil
		}
		if bits == 2048 || bits == 3072 || bits == 4096 {
			return bits, nil
		}
	case keyEC:
		if bits == 0 {
			return 256, nil
		}
		if bits == 224 || bits == 256 || bits == 384 || bits == 521 {
			return bits, nil
		}
	case keyEd25519, keyMLDSA:
		if bits == 0 {
			return 0, nil
		}
	default:
		return 0, invalid("unknown key_type %q: want rsa, ec, ed25519 or ml-dsa-65", typ)
	}
	return 0, invalid("invalid key_bits %d for key_type %s", bits, typ)
}

func generateKey(typ string, bits int) (*keyPair, error) {
	bits, err := checkKeyType(typ, bits)
	if err != nil {
		return nil, err
	}
	k := &keyPair{Type: typ}
	switch typ {
	case keyRSA:
		k.signer, err = rsa.GenerateKey(rand.Reader, bits)
	case keyEC:
		curves := map[int]elliptic.Curve{224: elliptic.P224(), 256: elliptic.P256(), 384: elliptic.P384(), 521: elliptic.P521()}
		k.signer, err = ecdsa.GenerateKey(curves[bits], rand.Reader)
	case keyEd25519:
		_, k.signer, err = ed25519.GenerateKey(rand.Reader)
	case keyMLDSA:
		seed := make([]byte, mldsa65.SeedSize)
		if _, err = rand.Read(seed); err == nil {
			k.setSeed(seed)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", typ, err)
	}
	return k, nil
}

func (k *keyPair) setSeed(seed []byte) {
	var s [mldsa65.SeedSize]byte
	copy(s[:], seed)
	k.seed = seed
	k.mpub, k.mldsa = mldsa65.NewKeyFromSeed(&s)
}

// mldsaPKCS8 is OneAsymmetricKey for ML-DSA with the seed form of the
// private key (RFC 9881: privateKey holds [0] IMPLICIT OCTET STRING seed).
type mldsaPKCS8 struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// marshal is the key's stored and exported form: PKCS#8 DER.
func (k *keyPair) marshal() ([]byte, error) {
	if k.Type == keyMLDSA {
		seed, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, Bytes: k.seed})
		if err != nil {
			return nil, err
		}
		return asn1.Marshal(mldsaPKCS8{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidMLDSA65}, PrivateKey: seed})
	}
	return x509.MarshalPKCS8PrivateKey(k.signer)
}

func parseKey(der []byte) (*keyPair, error) {
	var m mldsaPKCS8
	if _, err := asn1.Unmarshal(der, &m); err == nil && m.Algorithm.Algorithm.Equal(oidMLDSA65) {
		var seed asn1.RawValue
		if _, err := asn1.Unmarshal(m.PrivateKey, &seed); err != nil || len(seed.Bytes) != mldsa65.SeedSize {
			return nil, fmt.Errorf("parse ml-dsa-65 key: not the seed form")
		}
		k := &keyPair{Type: keyMLDSA}
		k.setSeed(seed.Bytes)
		return k, nil
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse key: %w", err)
	}
	k := &keyPair{signer: key.(crypto.Signer)}
	switch key.(type) {
	case *rsa.PrivateKey:
		k.Type = keyRSA
	case *ecdsa.PrivateKey:
		k.Type = keyEC
	default:
		k.Type = keyEd25519
	}
	return k, nil
}

// privatePEM is private_key as Vault shows it: PKCS#1 for RSA, SEC 1 for
// EC, PKCS#8 for Ed25519 and ML-DSA-65.
func (k *keyPair) privatePEM() (string, error) {
	var block *pem.Block
	switch key := k.signer.(type) {
	case *rsa.PrivateKey:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return "", err
		}
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	default:
		der, err := k.marshal()
		if err != nil {
			return "", err
		}
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	return string(pem.EncodeToMemory(block)), nil
}

// subjectPublicKeyInfo is the X.509 SPKI structure.
type subjectPublicKeyInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	PublicKey asn1.BitString
}

// spki is the key's SubjectPublicKeyInfo DER.
func (k *keyPair) spki() ([]byte, error) {
	if k.Type == keyMLDSA {
		pub, err := k.mpub.MarshalBinary()
		if err != nil {
			return nil, err
		}
		return asn1.Marshal(subjectPublicKeyInfo{Algorithm: pkix.AlgorithmIdentifier{Algorithm: oidMLDSA65},
			PublicKey: asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)}})
	}
	return x509.MarshalPKIXPublicKey(k.signer.Public())
}

// keyTypeOfCSR names the key type of a parsed CSR or certificate's key.
func keyTypeOf(pub any, rawSPKI []byte) string {
	switch pub.(type) {
	case *rsa.PublicKey:
		return keyRSA
	case *ecdsa.PublicKey:
		return keyEC
	case ed25519.PublicKey:
		return keyEd25519
	}
	var info subjectPublicKeyInfo
	if _, err := asn1.Unmarshal(rawSPKI, &info); err == nil && info.Algorithm.Algorithm.Equal(oidMLDSA65) {
		return keyMLDSA
	}
	return "unknown"
}

// mldsaPublicFromSPKI reads an ML-DSA-65 public key from SPKI DER.
func mldsaPublicFromSPKI(raw []byte) (*mldsa65.PublicKey, error) {
	var info subjectPublicKeyInfo
	if _, err := asn1.Unmarshal(raw, &info); err != nil || !info.Algorithm.Algorithm.Equal(oidMLDSA65) {
		return nil, fmt.Errorf("not an ML-DSA-65 public key")
	}
	if n := len(info.PublicKey.Bytes); n != mldsa65.PublicKeySize || info.PublicKey.BitLength != 8*n {
		return nil, fmt.Errorf("ML-DSA-65 public key is %d bytes, want %d", n, mldsa65.PublicKeySize)
	}
	pk := &mldsa65.PublicKey{}
	if err := pk.UnmarshalBinary(info.PublicKey.Bytes); err != nil {
		return nil, fmt.Errorf("ML-DSA-65 public key: %w", err)
	}
	return pk, nil
}
