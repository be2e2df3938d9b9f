package transit

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/mlkem"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"

	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

func newKey(t testing.TB, typ KeyType) *Policy {
	t.Helper()
	p, err := NewPolicy("k", PolicyOptions{Type: typ})
	if err != nil {
		t.Fatalf("new %s key: %v", typ, err)
	}
	return p
}

func wantInvalid(t *testing.T, err error, contains string) {
	t.Helper()
	var inv *keeper.InvalidError
	if !errors.As(err, &inv) || !strings.Contains(inv.Msg, contains) {
		t.Fatalf("got %v, want a 400 containing %q", err, contains)
	}
}

func TestEncryptDecryptEveryEncryptingType(t *testing.T) {
	for _, typ := range keyTypes {
		if !typ.canEncrypt() {
			continue
		}
		t.Run(string(typ), func(t *testing.T) {
			p := newKey(t, typ)
			msg := []byte("the eagle lands at dawn")
			ct, v, err := p.Encrypt(0, msg, nil)
			if err != nil || v != 1 || !strings.HasPrefix(ct, "vault:v1:") {
				t.Fatalf("encrypt: %q %d %v", ct, v, err)
			}
			got, _, err := p.Decrypt(ct, nil)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("decrypt: %q %v", got, err)
			}
			// Every bit of the payload is authenticated.
			_, raw, _ := parsePrefixed(ct, "ciphertext")
			for _, i := range []int{0, len(raw) / 2, len(raw) - 1} {
				bad := append([]byte{}, raw...)
				bad[i] ^= 0x01
				_, _, err := p.Decrypt(formatPrefixed(1, bad), nil)
				wantInvalid(t, err, "message authentication failed")
			}
			if err := p.Rotate(); err != nil {
				t.Fatal(err)
			}
			ct2, v, _ := p.Encrypt(0, msg, nil)
			if v != 2 || !strings.HasPrefix(ct2, "vault:v2:") {
				t.Fatalf("after rotate: %s", ct2)
			}
			if got, _, err := p.Decrypt(ct, nil); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("old ciphertext after rotate: %v", err)
			}
			one := 2
			if err := p.Configure(Config{MinDecryptionVersion: &one}); err != nil {
				t.Fatal(err)
			}
			_, _, err = p.Decrypt(ct, nil)
			wantInvalid(t, err, "too old")
			_, _, err = p.Decrypt("vault:v3:"+strings.SplitN(ct2, ":", 3)[2], nil)
			wantInvalid(t, err, "version is too new")
		})
	}
}

func TestSignVerifyEverySigningType(t *testing.T) {
	for _, typ := range keyTypes {
		if !typ.canSign() {
			continue
		}
		t.Run(string(typ), func(t *testing.T) {
			p := newKey(t, typ)
			msg := []byte("release v1.2.3")
			sig, v, err := p.Sign(0, msg, SignOptions{})
			if err != nil || v != 1 {
				t.Fatalf("sign: %v", err)
			}
			if ok, err := p.Verify(msg, sig, SignOptions{}); !ok || err != nil {
				t.Fatalf("verify: %v %v", ok, err)
			}
			if ok, _ := p.Verify([]byte("release v1.2.4"), sig, SignOptions{}); ok {
				t.Fatal("a signature verified another message")
			}
			// Anyone with the public key verifies it, without us.
			if !verifyIndependently(t, p, msg, sig) {
				t.Fatal("the published public key does not verify the signature")
			}
		})
	}
}

// verifyIndependently checks a signature with the key as reading it shows,
// using the standard library and circl directly.
func verifyIndependently(t *testing.T, p *Policy, msg []byte, sig string) bool {
	t.Helper()
	pubText, err := p.Keys["1"].publicKey(p.Type)
	if err != nil {
		t.Fatal(err)
	}
	_, raw, err := parsePrefixed(sig, "signature")
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(msg)
	switch {
	case p.Type.ecdsa() || p.Type.rsa():
		block, _ := pem.Decode([]byte(pubText))
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if p.Type.rsa() {
			return rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], raw, nil) == nil
		}
		return ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest[:], raw)
	}
	pub, _ := base64.StdEncoding.DecodeString(pubText)
	switch p.Type {
	case Ed25519:
		return ed25519.Verify(pub, msg, raw)
	case MLDSA65:
		var pk mldsa65.PublicKey
		if err := pk.UnmarshalBinary(pub); err != nil {
			t.Fatal(err)
		}
		return mldsa65.Verify(&pk, msg, nil, raw)
	case Ed25519MLDSA65:
		var pk mldsa65.PublicKey
		if err := pk.UnmarshalBinary(pub[ed25519.PublicKeySize:]); err != nil {
			t.Fatal(err)
		}
		return ed25519.Verify(pub[:ed25519.PublicKeySize], msg, raw[:ed25519.SignatureSize]) &&
			mldsa65.Verify(&pk, msg, nil, raw[ed25519.SignatureSize:])
	}
	t.Fatalf("no independent verifier for %s", p.Type)
	return false
}

func TestHybridNeedsBothSignatures(t *testing.T) {
	p := newKey(t, Ed25519MLDSA65)
	other := newKey(t, Ed25519MLDSA65)
	msg := []byte("m")
	sig, _, _ := p.Sign(0, msg, SignOptions{})
	foreign, _, _ := other.Sign(0, msg, SignOptions{})
	_, mine, _ := parsePrefixed(sig, "signature")
	_, theirs, _ := parsePrefixed(foreign, "signature")
	// Our Ed25519 half with a foreign ML-DSA half, and the other way round.
	mixed1 := append(append([]byte{}, mine[:64]...), theirs[64:]...)
	mixed2 := append(append([]byte{}, theirs[:64]...), mine[64:]...)
	for _, m := range [][]byte{mixed1, mixed2, mine[:64]} {
		if ok, _ := p.Verify(msg, formatPrefixed(1, m), SignOptions{}); ok {
			t.Fatal("a hybrid signature verified with only one valid half")
		}
	}
}

func TestMLDSAContext(t *testing.T) {
	p := newKey(t, MLDSA65)
	msg := []byte("m")
	sig, _, err := p.Sign(0, msg, SignOptions{Context: []byte("ctx-a")})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := p.Verify(msg, sig, SignOptions{Context: []byte("ctx-a")}); !ok {
		t.Fatal("same context does not verify")
	}
	if ok, _ := p.Verify(msg, sig, SignOptions{}); ok {
		t.Fatal("a signature with a context verified with the empty context")
	}
	_, _, err = p.Sign(0, msg, SignOptions{Context: bytes.Repeat([]byte("x"), 256)})
	wantInvalid(t, err, "at most 255 bytes")
}

func TestWrongTypeForOperation(t *testing.T) {
	aes := newKey(t, AES256GCM96)
	_, _, err := aes.Sign(0, []byte("x"), SignOptions{})
	wantInvalid(t, err, "does not support signing")
	ed := newKey(t, Ed25519)
	_, _, err = ed.Encrypt(0, []byte("x"), nil)
	wantInvalid(t, err, "does not support encryption")
	_, _, err = ed.Decrypt("vault:v1:AAAA", nil)
	wantInvalid(t, err, "does not support decryption")
	_, err = ParseKeyType("aes512-gcm")
	wantInvalid(t, err, "unknown key type")
	_, err = NewPolicy("k", PolicyOptions{Type: Ed25519, Derived: true})
	wantInvalid(t, err, "derivation is not supported")
}

func TestMalformedCiphertexts(t *testing.T) {
	p := newKey(t, AES256GCM96)
	for in, want := range map[string]string{
		"nonsense":          "no prefix",
		"vault:v1":          "wrong number of fields",
		"vault:vX:AAAA":     "version number",
		"vault:v0:AAAA":     "version number",
		"vault:v1:%%%":      "could not decode base64",
		"vault:v1:AAAA":     "too short",
		"vault:v99:AAAAAAA": "could not decode base64",
	} {
		_, _, err := p.Decrypt(in, nil)
		wantInvalid(t, err, want)
	}
}

func TestDerivedAndConvergent(t *testing.T) {
	p, err := NewPolicy("k", PolicyOptions{Type: AES256GCM96, Derived: true, ConvergentEncryption: true})
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("4111-1111-1111-1111")
	a, _, err := p.Encrypt(0, msg, []byte("tenant-a"))
	if err != nil {
		t.Fatal(err)
	}
	again, _, _ := p.Encrypt(0, msg, []byte("tenant-a"))
	other, _, _ := p.Encrypt(0, msg, []byte("tenant-b"))
	if a != again || a == other {
		t.Fatalf("convergent: same context %v, other context %v", a == again, a == other)
	}
	if _, _, err := p.Decrypt(a, []byte("tenant-b")); err == nil {
		t.Fatal("decrypted under another context")
	}
	_, _, err = p.Encrypt(0, msg, nil)
	wantInvalid(t, err, "missing 'context'")
	_, err = NewPolicy("k", PolicyOptions{ConvergentEncryption: true})
	wantInvalid(t, err, "requires derivation")
}

func TestConfigureRules(t *testing.T) {
	p := newKey(t, AES256GCM96)
	_ = p.Rotate()
	_ = p.Rotate()
	three, two, five := 3, 2, 5
	wantInvalid(t, p.Configure(Config{MinDecryptionVersion: &five}), "latest key version is 3")
	wantInvalid(t, p.Configure(Config{MinDecryptionVersion: &three, MinEncryptionVersion: &two}), "must be greater than or equal")
	if err := p.Configure(Config{MinEncryptionVersion: &three}); err != nil {
		t.Fatal(err)
	}
	_, _, err := p.Encrypt(2, []byte("x"), nil)
	wantInvalid(t, err, "less than the minimum encryption key version")
	yes, no := true, false
	if err := p.Configure(Config{Exportable: &yes}); err != nil {
		t.Fatal(err)
	}
	wantInvalid(t, p.Configure(Config{Exportable: &no}), "cannot be disabled")
}

// The seed-derived keys match NIST's ACVP known answers, and ML-KEM
// interoperates with Go's own, independent implementation.
func TestKnownAnswers(t *testing.T) {
	raw, err := os.ReadFile("testdata/acvp.json")
	if err != nil {
		t.Fatal(err)
	}
	var kat struct {
		MLDSA []struct{ Seed, PK string } `json:"mldsa65_keygen"`
		MLKEM []struct{ D, Z, EK string } `json:"mlkem768_keygen"`
	}
	if err := json.Unmarshal(raw, &kat); err != nil {
		t.Fatal(err)
	}
	unhex := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, v := range kat.MLDSA {
		kv := &KeyVersion{Material: unhex(v.Seed)}
		pub, err := kv.publicKey(MLDSA65)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := base64.StdEncoding.DecodeString(pub); !bytes.Equal(got, unhex(v.PK)) {
			t.Fatalf("ML-DSA-65 public key from seed %s… differs from ACVP", v.Seed[:8])
		}
	}
	for _, v := range kat.MLKEM {
		seed := append(unhex(v.D), unhex(v.Z)...)
		kv := &KeyVersion{Material: seed}
		pub, err := kv.publicKey(MLKEM768)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := base64.StdEncoding.DecodeString(pub); !bytes.Equal(got, unhex(v.EK)) {
			t.Fatalf("ML-KEM-768 encapsulation key from d %s… differs from ACVP", v.D[:8])
		}
		// circl, which opens the pre-HPKE layout, agrees with crypto/mlkem
		// (under crypto/hpke) on the key and on a secret encapsulated to it.
		std, err := mlkem.NewDecapsulationKey768(seed)
		if err != nil {
			t.Fatal(err)
		}
		secret, ct := std.EncapsulationKey().Encapsulate()
		old := newLegacyKEM(MLKEM768, seed)
		theirs, err := old.scheme.Decapsulate(old.priv, ct)
		if err != nil || !bytes.Equal(theirs, secret) {
			t.Fatal("circl does not decapsulate crypto/mlkem's ciphertext to the same secret")
		}
		if circlPub, _ := old.priv.Public().MarshalBinary(); !bytes.Equal(circlPub, unhex(v.EK)) {
			t.Fatal("circl derives another key from the same seed")
		}
	}
}

func TestHMACAndExport(t *testing.T) {
	p, err := NewPolicy("k", PolicyOptions{Type: HMAC, KeySize: 64, Exportable: true})
	if err != nil {
		t.Fatal(err)
	}
	mac, _, err := p.HMAC(0, "sha2-512", []byte("data"))
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := p.VerifyHMAC("sha2-512", []byte("data"), mac); !ok {
		t.Fatal("hmac does not verify")
	}
	if ok, _ := p.VerifyHMAC("sha2-256", []byte("data"), mac); ok {
		t.Fatal("hmac verified under another algorithm")
	}
	key, err := p.Keys["1"].exportKey(HMAC, "hmac-key")
	if b, _ := base64.StdEncoding.DecodeString(key); err != nil || len(b) != 64 {
		t.Fatalf("hmac-key export: %d bytes %v", len(b), err)
	}
	_, err = NewPolicy("k", PolicyOptions{Type: HMAC, KeySize: 8})
	wantInvalid(t, err, "invalid key_size")
}

func FuzzParsePrefixed(f *testing.F) {
	for _, s := range []string{"vault:v1:AAAA", "vault:v2:", "vault:v-1:AA", "vault:v1:a:b", ""} {
		f.Add(s)
	}
	aes := newKey(f, AES256GCM96)
	kem := newKey(f, MLKEM768)
	sig := newKey(f, Ed25519MLDSA65)
	f.Fuzz(func(t *testing.T, s string) {
		if v, _, err := parsePrefixed(s, "ciphertext"); err == nil && v < 1 {
			t.Fatalf("parse of %q gave version %d", s, v)
		}
		// Nothing decrypts or verifies garbage, and nothing panics on it.
		if _, _, err := aes.Decrypt(s, nil); err == nil {
			t.Fatalf("decrypted %q", s)
		}
		if _, _, err := kem.Decrypt(s, nil); err == nil {
			t.Fatalf("decrypted %q", s)
		}
		if ok, _ := sig.Verify([]byte("m"), s, SignOptions{}); ok {
			t.Fatalf("verified %q", s)
		}
	})
}
