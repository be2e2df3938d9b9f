package transit

import (
	"bytes"
	"crypto/hpke"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"strings"
	"testing"

	"github.com/cloudflare/circl/kem/xwing"
)

var kemTypes = []KeyType{MLKEM768, XWing}

// openWithStdlib opens a transit ciphertext with crypto/hpke directly, from
// the exported seed and the documented suite and info: the layout is plain
// RFC 9180 single-shot HPKE.
func openWithStdlib(t *testing.T, typ KeyType, seed []byte, info string, ct string) ([]byte, error) {
	t.Helper()
	_, raw, err := parsePrefixed(ct, "ciphertext")
	if err != nil {
		t.Fatal(err)
	}
	kem, _ := hpke.NewKEM(map[KeyType]uint16{MLKEM768: 0x0041, XWing: 0x647a}[typ])
	priv, err := kem.NewPrivateKey(seed)
	if err != nil {
		t.Fatal(err)
	}
	kdf, _ := hpke.NewKDF(0x0001)
	aead, _ := hpke.NewAEAD(0x0002)
	return hpke.Open(priv, kdf, aead, []byte(info), raw)
}

func TestKEMCiphertextsAreHPKE(t *testing.T) {
	for _, typ := range kemTypes {
		t.Run(string(typ), func(t *testing.T) {
			p, err := NewPolicy("orders", PolicyOptions{Type: typ})
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("card 4111")
			ct, _, err := p.Encrypt(0, msg, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, raw, _ := parsePrefixed(ct, "ciphertext")
			if want := kems[typ].encLen + len(msg) + aeadOverhead; len(raw) != want {
				t.Fatalf("payload is %d bytes, want enc ‖ ciphertext = %d", len(raw), want)
			}
			got, err := openWithStdlib(t, typ, p.Keys["1"].Material, "stratum/transit/orders/v1", ct)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("crypto/hpke with the documented suite: %q %v", got, err)
			}
			if _, err := openWithStdlib(t, typ, p.Keys["1"].Material, "stratum/transit/other/v1", ct); err == nil {
				t.Fatal("the ciphertext opened under another key name's info")
			}
			pub, _ := p.Keys["1"].publicKey(typ)
			if raw, _ := base64.StdEncoding.DecodeString(pub); len(raw) != kems[typ].publicLen {
				t.Fatalf("public key is %d bytes, want %d", len(raw), kems[typ].publicLen)
			}
		})
	}
}

func TestKEMBadInput(t *testing.T) {
	for _, typ := range kemTypes {
		t.Run(string(typ), func(t *testing.T) {
			p := newKey(t, typ)
			ct, _, _ := p.Encrypt(0, []byte("x"), nil)
			_, raw, _ := parsePrefixed(ct, "ciphertext")
			_, _, err := p.Decrypt(formatPrefixed(1, raw[:kems[typ].encLen-1]), nil)
			wantInvalid(t, err, "too short")
			_, _, err = p.Decrypt(formatPrefixed(1, raw[:kems[typ].encLen+aeadOverhead-1]), nil)
			wantInvalid(t, err, "too short")
			if err := p.Rotate(); err != nil {
				t.Fatal(err)
			}
			// Version 1's ciphertext presented as version 2's.
			_, _, err = p.Decrypt(formatPrefixed(2, raw), nil)
			wantInvalid(t, err, `not made for version 2 of key "k"`)
			_, _, err = p.Decrypt(ct, []byte("ctx"))
			wantInvalid(t, err, "context must be empty")
			_, _, err = p.Encrypt(0, []byte("x"), []byte("ctx"))
			wantInvalid(t, err, "context must be empty")
			// The same key material under another name does not open it.
			other := *p
			other.Name = "k2"
			_, _, err = other.Decrypt(ct, nil)
			wantInvalid(t, err, `not made for version 1 of key "k2"`)
		})
	}
}

// legacyFixture is testdata/legacy-kem.json: keys and ciphertexts written
// by the transit code before HPKE (KEM ciphertext ‖ nonce ‖ AES-256-GCM).
type legacyFixture map[KeyType]struct {
	Policy     *Policy `json:"policy"`
	Ciphertext string  `json:"ciphertext"`
	Plaintext  string  `json:"plaintext"`
}

func loadLegacy(t testing.TB) legacyFixture {
	t.Helper()
	raw, err := os.ReadFile("testdata/legacy-kem.json")
	if err != nil {
		t.Fatal(err)
	}
	var f legacyFixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestLegacyCiphertextsDecryptAndRewrap(t *testing.T) {
	for typ, c := range loadLegacy(t) {
		t.Run(string(typ), func(t *testing.T) {
			p := c.Policy
			if p.Keys["1"].Format != formatLegacyKEM {
				t.Fatal("a stored pre-HPKE version must read as the legacy format")
			}
			got, _, err := p.Decrypt(c.Ciphertext, nil)
			if err != nil || string(got) != c.Plaintext {
				t.Fatalf("legacy ciphertext: %q %v", got, err)
			}
			// Rewrap = decrypt then encrypt: the result is HPKE, even with the same version.
			re, _, err := p.Encrypt(0, got, nil)
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := openWithStdlib(t, typ, p.Keys["1"].Material, "stratum/transit/"+p.Name+"/v1", re); err != nil || string(pt) != c.Plaintext {
				t.Fatalf("rewrapped ciphertext is not HPKE: %v", err)
			}
			// New versions are HPKE only.
			if err := p.Rotate(); err != nil || p.Keys["2"].Format != formatHPKE {
				t.Fatalf("rotate: %v, format %d", err, p.Keys["2"].Format)
			}
			hpkeOnly := *p.Keys["1"]
			hpkeOnly.Format, hpkeOnly.parsed = formatHPKE, nil
			p.Keys["1"] = &hpkeOnly
			_, _, err = p.Decrypt(c.Ciphertext, nil)
			wantInvalid(t, err, "message authentication failed")
		})
	}
}

func TestEncryptToPublicKeyOffline(t *testing.T) {
	for _, typ := range kemTypes {
		t.Run(string(typ), func(t *testing.T) {
			p, _ := NewPolicy("orders", PolicyOptions{Type: typ})
			_ = p.Rotate()
			pubB64, _ := p.Keys["2"].publicKey(typ)
			raw, _ := base64.StdEncoding.DecodeString(pubB64)
			pemText, err := publicKeyPEM(typ, raw)
			if err != nil {
				t.Fatal(err)
			}
			for name, file := range map[string][]byte{"base64": []byte(pubB64 + "\n"), "raw": raw, "pem": []byte(pemText)} {
				gotType, key, err := ParseEncryptionKey(file)
				if err != nil || gotType != typ || !bytes.Equal(key, raw) {
					t.Fatalf("%s file: %s %v", name, gotType, err)
				}
			}
			ct, err := EncryptToPublicKey(typ, raw, "orders", 2, []byte("offline"))
			if err != nil || !strings.HasPrefix(ct, "vault:v2:") {
				t.Fatalf("offline: %q %v", ct, err)
			}
			if got, _, err := p.Decrypt(ct, nil); err != nil || string(got) != "offline" {
				t.Fatalf("the vault does not open an offline ciphertext: %v", err)
			}
			_, err = EncryptToPublicKey(typ, raw[:len(raw)-1], "orders", 2, nil)
			wantInvalid(t, err, "public key is")
			_, _, err = ParseEncryptionKey(raw[:100])
			wantInvalid(t, err, "100 bytes is neither")
			_, err = EncryptToPublicKey(typ, raw, "orders", 0, nil)
			wantInvalid(t, err, "versions start at 1")
		})
	}
	sig := newKey(t, MLDSA65)
	pub, _ := sig.Keys["1"].publicKey(MLDSA65)
	raw, _ := base64.StdEncoding.DecodeString(pub)
	pemText, _ := publicKeyPEM(MLDSA65, raw)
	_, _, err := ParseEncryptionKey([]byte(pemText))
	wantInvalid(t, err, "ml-dsa-65 keys do not encrypt")
}

// The SubjectPublicKeyInfo that reading a key shows carries the NIST OID
// (the X-Wing draft's for X-Wing), absent parameters and the raw key.
func TestPublicKeySPKI(t *testing.T) {
	want := map[KeyType]string{MLKEM768: "2.16.840.1.101.3.4.4.2", XWing: "1.3.6.1.4.1.62253.25722", MLDSA65: "2.16.840.1.101.3.4.3.18"}
	for typ, oid := range want {
		p := newKey(t, typ)
		res, err := describe(p)
		if err != nil {
			t.Fatal(err)
		}
		var data struct {
			Keys map[string]struct {
				PublicKey    string `json:"public_key"`
				PublicKeyPEM string `json:"public_key_pem"`
			} `json:"keys"`
		}
		if err := json.Unmarshal(res.Data, &data); err != nil {
			t.Fatal(err)
		}
		v := data.Keys["1"]
		block, _ := pem.Decode([]byte(v.PublicKeyPEM))
		if block == nil || block.Type != "PUBLIC KEY" {
			t.Fatalf("%s: public_key_pem %q", typ, v.PublicKeyPEM)
		}
		var spki struct {
			Alg struct {
				OID    asn1.ObjectIdentifier
				Params asn1.RawValue `asn1:"optional"`
			}
			Key asn1.BitString
		}
		if rest, err := asn1.Unmarshal(block.Bytes, &spki); err != nil || len(rest) > 0 {
			t.Fatalf("%s: SPKI DER: %v", typ, err)
		}
		raw, _ := base64.StdEncoding.DecodeString(v.PublicKey)
		if spki.Alg.OID.String() != oid || len(spki.Alg.Params.FullBytes) != 0 || !bytes.Equal(spki.Key.Bytes, raw) {
			t.Fatalf("%s: SPKI has OID %s params %x", typ, spki.Alg.OID, spki.Alg.Params.FullBytes)
		}
	}
}

// One seed, one key pair: crypto/hpke's own KEM.NewPrivateKey, the private
// key the vault decrypts with (circl's decapsulation plugged into
// crypto/hpke) and circl's X-Wing (which opens the pre-HPKE layout) agree,
// and what crypto/hpke seals to its own key, the vault opens.
func TestSeedsAgreeAcrossImplementations(t *testing.T) {
	for _, typ := range kemTypes {
		p := newKey(t, typ)
		seed := p.Keys["1"].Material
		std, err := kems[typ].kem().NewPrivateKey(seed)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := p.Keys["1"].publicKey(typ)
		if raw, _ := base64.StdEncoding.DecodeString(pub); !bytes.Equal(raw, std.PublicKey().Bytes()) {
			t.Fatalf("%s: the vault and crypto/hpke derive different keys from one seed", typ)
		}
		sealed, err := hpke.Seal(std.PublicKey(), hpke.HKDFSHA256(), hpke.AES256GCM(), HPKEInfo("k", 1), []byte("m"))
		if err != nil {
			t.Fatal(err)
		}
		if got, _, err := p.Decrypt(formatPrefixed(1, sealed), nil); err != nil || string(got) != "m" {
			t.Fatalf("%s: crypto/hpke's ciphertext: %q %v", typ, got, err)
		}
		if typ == XWing {
			circlPub, _ := xwing.Scheme().DeriveKeyPair(seed)
			if b, _ := circlPub.MarshalBinary(); !bytes.Equal(b, std.PublicKey().Bytes()) {
				t.Fatal("circl and crypto/hpke derive different X-Wing keys from one seed")
			}
		}
	}
}

// BenchmarkKEM measures encrypt and decrypt of a 64-byte plaintext, and the
// decryption of a pre-HPKE ciphertext (HPKE is tried first).
func BenchmarkKEM(b *testing.B) {
	msg := bytes.Repeat([]byte("x"), 64)
	for typ, c := range loadLegacy(b) {
		b.Run(string(typ)+"/decrypt-legacy", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := c.Policy.Decrypt(c.Ciphertext, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, typ := range kemTypes {
		p, _ := NewPolicy("bench", PolicyOptions{Type: typ})
		ct, _, _ := p.Encrypt(0, msg, nil)
		b.Run(string(typ)+"/encrypt", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := p.Encrypt(0, msg, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(typ)+"/decrypt", func(b *testing.B) {
			for b.Loop() {
				if _, _, err := p.Decrypt(ct, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// ParseEncryptionKey reads files from outside: it never panics, and what it
// accepts is a KEM key of the right length.
func FuzzParseEncryptionKey(f *testing.F) {
	p := newKey(f, MLKEM768)
	pub, _ := p.Keys["1"].publicKey(MLKEM768)
	raw, _ := base64.StdEncoding.DecodeString(pub)
	pemText, _ := publicKeyPEM(MLKEM768, raw)
	for _, seed := range [][]byte{[]byte(pub), raw, []byte(pemText), []byte("-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----\n"), {0x30, 0x03, 0x30, 0x01}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		typ, key, err := ParseEncryptionKey(data)
		if err != nil {
			return
		}
		if k, ok := kems[typ]; !ok || len(key) != k.publicLen {
			t.Fatalf("accepted a %d-byte %q key", len(key), typ)
		}
	})
}
