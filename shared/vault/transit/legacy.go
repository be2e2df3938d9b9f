package transit

import (
	"crypto/aes"
	"crypto/cipher"

	"github.com/cloudflare/circl/kem"
	"github.com/cloudflare/circl/kem/mlkem/mlkem768"
	"github.com/cloudflare/circl/kem/xwing"
)

// legacyKEM opens the payload layout that ML-KEM-768 and X-Wing keys wrote
// before HPKE: KEM ciphertext ‖ 12-byte nonce ‖ AES-256-GCM ciphertext ‖ tag,
// under the raw KEM shared secret, with no KDF and nothing bound. Only key
// versions created before HPKE (formatLegacyKEM) accept it, and only to
// decrypt: rewrap turns such a ciphertext into an HPKE one. The same seed
// gives the same key pair here and in crypto/hpke (FIPS 203 d ‖ z; the
// X-Wing seed), which the tests check.
type legacyKEM struct {
	scheme kem.Scheme
	priv   kem.PrivateKey
}

func newLegacyKEM(t KeyType, seed []byte) *legacyKEM {
	s := mlkem768.Scheme()
	if t == XWing {
		s = xwing.Scheme()
	}
	_, priv := s.DeriveKeyPair(seed)
	return &legacyKEM{scheme: s, priv: priv}
}

// open decrypts a legacy payload; false when it is not one of this key's.
func (l *legacyKEM) open(raw []byte) ([]byte, bool) {
	const nonceSize = 12
	n := l.scheme.CiphertextSize()
	if len(raw) < n+nonceSize+aeadOverhead {
		return nil, false
	}
	secret, err := l.scheme.Decapsulate(l.priv, raw[:n])
	clearUpperAVX()
	if err != nil {
		return nil, false
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, false
	}
	a, err := cipher.NewGCM(block)
	if err != nil {
		return nil, false
	}
	plain, err := a.Open(nil, raw[n:n+nonceSize], raw[n+nonceSize:], nil)
	return plain, err == nil
}
