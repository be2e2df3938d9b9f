package transit

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha3" // registers the SHA-3 hashes named by hash_algorithm
	_ "crypto/sha512"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	"golang.org/x/crypto/chacha20poly1305"
)

// errAuth is every failed decryption: one message, no detail about which
// part of the ciphertext was wrong.
var errAuth = invalid("cipher: message authentication failed")

// aead builds the AEAD of a symmetric type.
func aead(t KeyType, key []byte) (cipher.AEAD, error) {
	switch t {
	case ChaCha20Poly1305:
		return chacha20poly1305.New(key)
	case XChaCha20Poly1305:
		return chacha20poly1305.NewX(key)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// Encrypt seals plaintext with the chosen version (0 = latest). Symmetric
// types write nonce ‖ ciphertext ‖ tag; ML-KEM-768 and X-Wing write HPKE's
// enc ‖ ciphertext (RFC 9180 base mode, see hpke.go); RSA keys use OAEP
// with SHA-256. A convergent key derives the nonce from the plaintext
// (HMAC-SHA256 under the derived key), so the same plaintext and context
// give the same ciphertext.
func (p *Policy) Encrypt(version int, plaintext, context []byte) (string, int, error) {
	if !p.Type.canEncrypt() {
		return "", 0, invalid("key type %v does not support encryption", p.Type)
	}
	version, v, err := p.encryptionVersion(version)
	if err != nil {
		return "", 0, err
	}
	var out []byte
	switch {
	case p.Type.symmetric():
		key, err := p.derive(v, context)
		if err != nil {
			return "", 0, err
		}
		a, err := aead(p.Type, key)
		if err != nil {
			return "", 0, err
		}
		var nonce []byte
		if p.ConvergentEncryption {
			m := hmac.New(sha256.New, key)
			m.Write(plaintext)
			nonce = m.Sum(nil)[:a.NonceSize()]
		} else {
			nonce = randomBytes(a.NonceSize())
		}
		out = a.Seal(nonce, nonce, plaintext, nil)
	case p.Type.kem():
		if len(context) > 0 {
			return "", 0, invalid("key %q does not use derivation; context must be empty", p.Name)
		}
		pk, err := v.parse(p.Type)
		if err != nil {
			return "", 0, err
		}
		if out, err = sealHPKE(pk.hpkePub, p.Name, version, plaintext); err != nil {
			return "", 0, err
		}
	default: // rsa
		pk, err := v.parse(p.Type)
		if err != nil {
			return "", 0, err
		}
		out, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pk.signer.Public().(*rsa.PublicKey), plaintext, nil)
		if err != nil {
			return "", 0, invalid("failed to RSA encrypt the plaintext: %v", err)
		}
	}
	return formatPrefixed(version, out), version, nil
}

// Decrypt opens a ciphertext made by Encrypt.
func (p *Policy) Decrypt(ciphertext string, context []byte) ([]byte, int, error) {
	if !p.Type.canEncrypt() {
		return nil, 0, invalid("key type %v does not support decryption", p.Type)
	}
	version, raw, err := parsePrefixed(ciphertext, "ciphertext")
	if err != nil {
		return nil, 0, err
	}
	v, err := p.decryptionVersion(version)
	if err != nil {
		return nil, 0, err
	}
	switch {
	case p.Type.symmetric():
		key, err := p.derive(v, context)
		if err != nil {
			return nil, 0, err
		}
		a, err := aead(p.Type, key)
		if err != nil {
			return nil, 0, err
		}
		if len(raw) < a.NonceSize()+a.Overhead() {
			return nil, 0, invalid("invalid ciphertext: too short")
		}
		plain, err := a.Open(nil, raw[:a.NonceSize()], raw[a.NonceSize():], nil)
		if err != nil {
			return nil, 0, errAuth
		}
		return plain, version, nil
	case p.Type.kem():
		plain, err := p.decryptKEM(version, v, raw, context)
		return plain, version, err
	default: // rsa
		pk, err := v.parse(p.Type)
		if err != nil {
			return nil, 0, err
		}
		plain, err := rsa.DecryptOAEP(sha256.New(), nil, pk.signer.(*rsa.PrivateKey), raw, nil)
		if err != nil {
			return nil, 0, errAuth
		}
		return plain, version, nil
	}
}

// decryptKEM opens an ML-KEM-768 or X-Wing ciphertext: HPKE, or for a
// version made before HPKE the legacy layout too.
func (p *Policy) decryptKEM(version int, v *KeyVersion, raw, context []byte) ([]byte, error) {
	if len(context) > 0 {
		return nil, invalid("key %q does not use derivation; context must be empty", p.Name)
	}
	pk, err := v.parse(p.Type)
	if err != nil {
		return nil, err
	}
	plain, err := p.openHPKE(version, pk.hpkePriv, raw)
	if err != nil && pk.legacy != nil {
		if old, ok := pk.legacy.open(raw); ok {
			return old, nil
		}
	}
	return plain, err
}

// hashes are the hash_algorithm names transit accepts.
var hashes = map[string]crypto.Hash{
	"sha1": crypto.SHA1, "sha2-224": crypto.SHA224, "sha2-256": crypto.SHA256,
	"sha2-384": crypto.SHA384, "sha2-512": crypto.SHA512,
	"sha3-224": crypto.SHA3_224, "sha3-256": crypto.SHA3_256, "sha3-384": crypto.SHA3_384, "sha3-512": crypto.SHA3_512,
}

func hashByName(name string) (crypto.Hash, error) {
	if name == "" {
		return crypto.SHA256, nil
	}
	h, ok := hashes[name]
	if !ok {
		return 0, invalid("unsupported hash algorithm %q", name)
	}
	return h, nil
}

// SignOptions are sign/verify's parameters beyond the input.
type SignOptions struct {
	HashAlgorithm       string // sha2-256 by default; ignored by ed25519 and ML-DSA
	Prehashed           bool
	SignatureAlgorithm  string // rsa: pss (default) or pkcs1v15
	MarshalingAlgorithm string // ecdsa: asn1 (default) or jws
	Context             []byte // ML-DSA context string (FIPS 204), at most 255 bytes
}

// hybridEdSize is the Ed25519 part's size at the front of a hybrid signature.
const hybridEdSize = ed25519.SignatureSize

func (o SignOptions) check(t KeyType) (crypto.Hash, error) {
	h, err := hashByName(o.HashAlgorithm)
	if err != nil {
		return 0, err
	}
	if o.Prehashed && (t == Ed25519 || t == MLDSA65 || t == Ed25519MLDSA65) {
		return 0, invalid("%s keys sign the input itself; prehashed is not supported", t)
	}
	if len(o.Context) > 255 {
		return 0, invalid("context for ML-DSA must be at most 255 bytes")
	}
	if len(o.Context) > 0 && t != MLDSA65 && t != Ed25519MLDSA65 {
		return 0, invalid("context is only used by ML-DSA keys")
	}
	switch o.SignatureAlgorithm {
	case "", "pss", "pkcs1v15":
	default:
		return 0, invalid("unsupported rsa signature algorithm %q", o.SignatureAlgorithm)
	}
	switch o.MarshalingAlgorithm {
	case "", "asn1", "jws":
	default:
		return 0, invalid("unsupported marshaling algorithm %q", o.MarshalingAlgorithm)
	}
	return h, nil
}

// digest hashes input for ECDSA and RSA unless the caller already did.
func digest(h crypto.Hash, input []byte, prehashed bool) ([]byte, error) {
	if prehashed {
		if len(input) != h.Size() {
			return nil, invalid("prehashed input must be %d bytes for the chosen hash algorithm", h.Size())
		}
		return input, nil
	}
	w := h.New()
	w.Write(input)
	return w.Sum(nil), nil
}

// Sign signs input with the chosen version (0 = latest).
func (p *Policy) Sign(version int, input []byte, o SignOptions) (string, int, error) {
	if !p.Type.canSign() {
		return "", 0, invalid("key type %v does not support signing", p.Type)
	}
	h, err := o.check(p.Type)
	if err != nil {
		return "", 0, err
	}
	version, v, err := p.encryptionVersion(version)
	if err != nil {
		return "", 0, err
	}
	pk, err := v.parse(p.Type)
	if err != nil {
		return "", 0, err
	}
	var sig []byte
	switch {
	case p.Type == Ed25519:
		sig = ed25519.Sign(pk.signer.(ed25519.PrivateKey), input)
	case p.Type == MLDSA65:
		sig, err = signMLDSA(pk.mldsa, input, o.Context)
	case p.Type == Ed25519MLDSA65:
		var pq []byte
		pq, err = signMLDSA(pk.mldsa, input, o.Context)
		sig = append(ed25519.Sign(pk.signer.(ed25519.PrivateKey), input), pq...)
	case p.Type.ecdsa():
		var d []byte
		if d, err = digest(h, input, o.Prehashed); err != nil {
			return "", 0, err
		}
		sig, err = ecdsa.SignASN1(rand.Reader, pk.signer.(*ecdsa.PrivateKey), d)
		if err == nil && o.MarshalingAlgorithm == "jws" {
			sig, err = asn1ToJWS(sig, pk.signer.(*ecdsa.PrivateKey).Curve.Params().BitSize)
		}
	default: // rsa
		var d []byte
		if d, err = digest(h, input, o.Prehashed); err != nil {
			return "", 0, err
		}
		key := pk.signer.(*rsa.PrivateKey)
		if o.SignatureAlgorithm == "pkcs1v15" {
			sig, err = rsa.SignPKCS1v15(rand.Reader, key, h, d)
		} else {
			sig, err = rsa.SignPSS(rand.Reader, key, h, d, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		}
	}
	if err != nil {
		return "", 0, fmt.Errorf("sign with %s: %w", p.Type, err)
	}
	return formatPrefixed(version, sig), version, nil
}

func signMLDSA(sk *mldsa65.PrivateKey, input, ctx []byte) ([]byte, error) {
	sig := make([]byte, mldsa65.SignatureSize)
	// Hedged (randomized) signing, FIPS 204's default.
	if err := mldsa65.SignTo(sk, input, ctx, true, sig); err != nil {
		return nil, err
	}
	return sig, nil
}

// Verify checks a signature made by Sign (or by anyone holding the key). A
// hybrid signature is valid only when both its parts verify.
func (p *Policy) Verify(input []byte, signature string, o SignOptions) (bool, error) {
	if !p.Type.canSign() {
		return false, invalid("key type %v does not support verification", p.Type)
	}
	h, err := o.check(p.Type)
	if err != nil {
		return false, err
	}
	version, sig, err := parsePrefixed(signature, "signature")
	if err != nil {
		return false, err
	}
	v, err := p.decryptionVersion(version)
	if err != nil {
		return false, err
	}
	pk, err := v.parse(p.Type)
	if err != nil {
		return false, err
	}
	switch {
	case p.Type == Ed25519:
		return ed25519.Verify(pk.signer.Public().(ed25519.PublicKey), input, sig), nil
	case p.Type == MLDSA65:
		return mldsa65.Verify(pk.mldsaPub, input, o.Context, sig), nil
	case p.Type == Ed25519MLDSA65:
		if len(sig) != hybridEdSize+mldsa65.SignatureSize {
			return false, nil
		}
		edOK := ed25519.Verify(pk.signer.Public().(ed25519.PublicKey), input, sig[:hybridEdSize])
		pqOK := mldsa65.Verify(pk.mldsaPub, input, o.Context, sig[hybridEdSize:])
		return edOK && pqOK, nil
	case p.Type.ecdsa():
		d, err := digest(h, input, o.Prehashed)
		if err != nil {
			return false, err
		}
		pub := pk.signer.Public().(*ecdsa.PublicKey)
		if o.MarshalingAlgorithm == "jws" {
			if sig, err = jwsToASN1(sig); err != nil {
				return false, nil
			}
		}
		return ecdsa.VerifyASN1(pub, d, sig), nil
	default: // rsa
		d, err := digest(h, input, o.Prehashed)
		if err != nil {
			return false, err
		}
		pub := pk.signer.Public().(*rsa.PublicKey)
		if o.SignatureAlgorithm == "pkcs1v15" {
			return rsa.VerifyPKCS1v15(pub, h, d, sig) == nil, nil
		}
		return rsa.VerifyPSS(pub, h, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}) == nil, nil
	}
}

// HMAC computes an HMAC of input with the version's HMAC key (the key
// itself for hmac-type keys).
func (p *Policy) HMAC(version int, algorithm string, input []byte) (string, int, error) {
	h, err := hashByName(algorithm)
	if err != nil {
		return "", 0, err
	}
	version, v, err := p.encryptionVersion(version)
	if err != nil {
		return "", 0, err
	}
	return formatPrefixed(version, p.mac(v, h, input)), version, nil
}

// VerifyHMAC checks an HMAC in constant time.
func (p *Policy) VerifyHMAC(algorithm string, input []byte, mac string) (bool, error) {
	h, err := hashByName(algorithm)
	if err != nil {
		return false, err
	}
	version, want, err := parsePrefixed(mac, "hmac")
	if err != nil {
		return false, err
	}
	v, err := p.decryptionVersion(version)
	if err != nil {
		return false, err
	}
	return hmac.Equal(p.mac(v, h, input), want), nil
}

func (p *Policy) mac(v *KeyVersion, h crypto.Hash, input []byte) []byte {
	key := v.HMACKey
	if p.Type == HMAC {
		key = v.Material
	}
	m := hmac.New(h.New, key)
	m.Write(input)
	return m.Sum(nil)
}

// JWS signatures are r ‖ s, each padded to the curve's byte size (RFC 7518).
type ecdsaSig struct{ R, S *big.Int }

func asn1ToJWS(der []byte, bits int) ([]byte, error) {
	var s ecdsaSig
	if _, err := asn1.Unmarshal(der, &s); err != nil {
		return nil, err
	}
	size := (bits + 7) / 8
	out := make([]byte, 2*size)
	s.R.FillBytes(out[:size])
	s.S.FillBytes(out[size:])
	return out, nil
}

func jwsToASN1(sig []byte) ([]byte, error) {
	if len(sig) == 0 || len(sig)%2 != 0 {
		return nil, errors.New("bad jws signature length")
	}
	half := len(sig) / 2
	return asn1.Marshal(ecdsaSig{R: new(big.Int).SetBytes(sig[:half]), S: new(big.Int).SetBytes(sig[half:])})
}
