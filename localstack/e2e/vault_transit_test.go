package e2e

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"hash"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudflare/circl/sign/mldsa/mldsa65"
	bao "github.com/openbao/openbao/api/v2"
)

// unsealedRoot returns a root client of the suite's vault, unsealed.
func unsealedRoot(t *testing.T) *bao.Client {
	t.Helper()
	init := initVault(t)
	c := baoClient(t, ep.Gateways["vault"], init.RootToken)
	if st, err := c.Sys().SealStatus(); err != nil || st.Sealed {
		unsealVault(t, c, init)
	}
	return c
}

// mustWrite writes through a Vault client, failing the test on an error.
func mustWrite(t *testing.T, lg *bao.Logical, path string, body map[string]any) *bao.Secret {
	t.Helper()
	s, err := lg.WriteWithContext(context.Background(), path, body)
	if err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
	return s
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// Transit is judged by OpenBao's client; signatures by the standard library
// and circl with the public key the vault publishes, not by our code.
func TestVaultTransit(t *testing.T) {
	ctx := context.Background()
	root := unsealedRoot(t)
	if err := root.Sys().MountWithContext(ctx, "transit", &bao.MountInput{Type: "transit"}); err != nil {
		t.Fatal(err)
	}
	lg := root.Logical()
	publicKey := func(t *testing.T, name string, version string) string {
		t.Helper()
		s, err := lg.ReadWithContext(ctx, "transit/keys/"+name)
		if err != nil || s == nil {
			t.Fatalf("read key %s: %v", name, err)
		}
		return s.Data["keys"].(map[string]any)[version].(map[string]any)["public_key"].(string)
	}
	rawSig := func(t *testing.T, sig string) []byte {
		t.Helper()
		parts := strings.SplitN(sig, ":", 3)
		raw, err := base64.StdEncoding.DecodeString(parts[2])
		if len(parts) != 3 || err != nil {
			t.Fatalf("signature %q", sig)
		}
		return raw
	}

	t.Run("encrypt and decrypt, every encrypting type", func(t *testing.T) {
		for _, typ := range []string{"aes128-gcm96", "aes256-gcm96", "chacha20-poly1305", "xchacha20-poly1305", "rsa-2048", "ml-kem-768", "x-wing"} {
			name := "enc-" + typ
			mustWrite(t, lg, "transit/keys/"+name, map[string]any{"type": typ})
			ct := mustWrite(t, lg, "transit/encrypt/"+name, map[string]any{"plaintext": b64("top secret " + typ)}).Data["ciphertext"].(string)
			if !strings.HasPrefix(ct, "vault:v1:") {
				t.Fatalf("%s ciphertext %q", typ, ct)
			}
			pt := mustWrite(t, lg, "transit/decrypt/"+name, map[string]any{"ciphertext": ct}).Data["plaintext"].(string)
			if pt != b64("top secret "+typ) {
				t.Fatalf("%s round trip: %q", typ, pt)
			}
		}
	})

	t.Run("classic signatures verify with the standard library", func(t *testing.T) {
		msg := []byte("deploy 4f2a9c to production")
		digest := sha256.Sum256(msg)
		for _, typ := range []string{"ecdsa-p256", "ecdsa-p384", "ecdsa-p521", "ed25519", "rsa-2048"} {
			name := "sig-" + typ
			mustWrite(t, lg, "transit/keys/"+name, map[string]any{"type": typ})
			sig := mustWrite(t, lg, "transit/sign/"+name, map[string]any{"input": b64(string(msg))}).Data["signature"].(string)
			ok := mustWrite(t, lg, "transit/verify/"+name, map[string]any{"input": b64(string(msg)), "signature": sig}).Data["valid"]
			if ok != true {
				t.Fatalf("%s: our own verify says %v", typ, ok)
			}
			pub, raw := publicKey(t, name, "1"), rawSig(t, sig)
			var valid bool
			if typ == "ed25519" {
				key, _ := base64.StdEncoding.DecodeString(pub)
				valid = len(key) == ed25519.PublicKeySize && ed25519.Verify(key, msg, raw)
			} else {
				block, _ := pem.Decode([]byte(pub))
				if block == nil {
					t.Fatalf("%s public key is not PEM: %q", typ, pub)
				}
				key, err := x509.ParsePKIXPublicKey(block.Bytes)
				if err != nil {
					t.Fatal(err)
				}
				switch k := key.(type) {
				case *ecdsa.PublicKey:
					valid = ecdsa.VerifyASN1(k, digest[:], raw)
				case *rsa.PublicKey:
					valid = rsa.VerifyPSS(k, crypto.SHA256, digest[:], raw, nil) == nil
				}
			}
			if !valid {
				t.Fatalf("%s signature does not verify with the standard library", typ)
			}
		}
		// The hash in the path and PKCS#1 v1.5, as OpenBao takes them.
		sig := mustWrite(t, lg, "transit/sign/sig-rsa-2048/sha2-512", map[string]any{"input": b64(string(msg)), "signature_algorithm": "pkcs1v15"}).Data["signature"].(string)
		block, _ := pem.Decode([]byte(publicKey(t, "sig-rsa-2048", "1")))
		key, _ := x509.ParsePKIXPublicKey(block.Bytes)
		d512 := sha512.Sum512(msg)
		if err := rsa.VerifyPKCS1v15(key.(*rsa.PublicKey), crypto.SHA512, d512[:], rawSig(t, sig)); err != nil {
			t.Fatalf("pkcs1v15 sha2-512: %v", err)
		}
	})

	t.Run("post-quantum signatures verify with circl", func(t *testing.T) {
		msg := []byte("firmware image 7.1")
		mustWrite(t, lg, "transit/keys/pq-sign", map[string]any{"type": "ml-dsa-65"})
		sig := mustWrite(t, lg, "transit/sign/pq-sign", map[string]any{"input": b64(string(msg))}).Data["signature"].(string)
		var pk mldsa65.PublicKey
		raw, _ := base64.StdEncoding.DecodeString(publicKey(t, "pq-sign", "1"))
		if err := pk.UnmarshalBinary(raw); err != nil {
			t.Fatalf("public key is not a FIPS 204 ML-DSA-65 key: %v", err)
		}
		if !mldsa65.Verify(&pk, msg, nil, rawSig(t, sig)) {
			t.Fatal("ML-DSA-65 signature does not verify with circl")
		}
		// With a context string.
		ctxStr := b64("release-signing")
		sig = mustWrite(t, lg, "transit/sign/pq-sign", map[string]any{"input": b64(string(msg)), "context": ctxStr}).Data["signature"].(string)
		if !mldsa65.Verify(&pk, msg, []byte("release-signing"), rawSig(t, sig)) {
			t.Fatal("ML-DSA-65 signature with a context does not verify with circl")
		}

		mustWrite(t, lg, "transit/keys/hybrid", map[string]any{"type": "ed25519+ml-dsa-65"})
		sig = mustWrite(t, lg, "transit/sign/hybrid", map[string]any{"input": b64(string(msg))}).Data["signature"].(string)
		both, _ := base64.StdEncoding.DecodeString(publicKey(t, "hybrid", "1"))
		if err := pk.UnmarshalBinary(both[ed25519.PublicKeySize:]); err != nil {
			t.Fatal(err)
		}
		raw = rawSig(t, sig)
		if !ed25519.Verify(both[:ed25519.PublicKeySize], msg, raw[:ed25519.SignatureSize]) || !mldsa65.Verify(&pk, msg, nil, raw[ed25519.SignatureSize:]) {
			t.Fatal("hybrid signature halves do not verify independently")
		}
		// Flip one bit of the ML-DSA half: the hybrid is invalid.
		raw[len(raw)-10] ^= 1
		forged := "vault:v1:" + base64.StdEncoding.EncodeToString(raw)
		if v := mustWrite(t, lg, "transit/verify/hybrid", map[string]any{"input": b64(string(msg)), "signature": forged}).Data["valid"]; v != false {
			t.Fatalf("a hybrid with a broken ML-DSA half: valid=%v", v)
		}
	})

	t.Run("versions, rotation, rewrap and min_decryption_version", func(t *testing.T) {
		mustWrite(t, lg, "transit/keys/orders", nil)
		v1 := mustWrite(t, lg, "transit/encrypt/orders", map[string]any{"plaintext": b64("order 1")}).Data["ciphertext"].(string)
		mustWrite(t, lg, "transit/keys/orders/rotate", nil)
		v2 := mustWrite(t, lg, "transit/encrypt/orders", map[string]any{"plaintext": b64("order 2")}).Data["ciphertext"].(string)
		if !strings.HasPrefix(v2, "vault:v2:") {
			t.Fatalf("after rotate: %s", v2)
		}
		re := mustWrite(t, lg, "transit/rewrap/orders", map[string]any{"ciphertext": v1}).Data["ciphertext"].(string)
		if !strings.HasPrefix(re, "vault:v2:") {
			t.Fatalf("rewrap: %s", re)
		}
		mustWrite(t, lg, "transit/keys/orders/config", map[string]any{"min_decryption_version": 2})
		if _, err := lg.WriteWithContext(ctx, "transit/decrypt/orders", map[string]any{"ciphertext": v1}); !hasStatus(err, 400) {
			t.Fatalf("v1 below min_decryption_version: %v", err)
		}
		if pt := mustWrite(t, lg, "transit/decrypt/orders", map[string]any{"ciphertext": re}).Data["plaintext"]; pt != b64("order 1") {
			t.Fatalf("rewrapped: %v", pt)
		}
		key, err := lg.ReadWithContext(ctx, "transit/keys/orders")
		if err != nil || key.Data["latest_version"] != json.Number("2") || key.Data["min_decryption_version"] != json.Number("2") {
			t.Fatalf("key: %+v %v", key, err)
		}
		// Batch: one result per item, in order, with the caller's references.
		batch := mustWrite(t, lg, "transit/encrypt/orders", map[string]any{"batch_input": []map[string]any{
			{"plaintext": b64("a"), "reference": "first"}, {"plaintext": b64("b"), "reference": "second"}}})
		results := batch.Data["batch_results"].([]any)
		if len(results) != 2 || results[1].(map[string]any)["reference"] != "second" {
			t.Fatalf("batch: %v", results)
		}
		in := []map[string]any{}
		for _, r := range results {
			in = append(in, map[string]any{"ciphertext": r.(map[string]any)["ciphertext"]})
		}
		out := mustWrite(t, lg, "transit/decrypt/orders", map[string]any{"batch_input": in}).Data["batch_results"].([]any)
		if out[0].(map[string]any)["plaintext"] != b64("a") || out[1].(map[string]any)["plaintext"] != b64("b") {
			t.Fatalf("batch decrypt: %v", out)
		}
	})

	t.Run("datakey, hmac, random, hash, export, delete", func(t *testing.T) {
		mustWrite(t, lg, "transit/keys/wrapping", map[string]any{"exportable": true})
		dk := mustWrite(t, lg, "transit/datakey/plaintext/wrapping", map[string]any{"bits": 512}).Data
		if plain, _ := base64.StdEncoding.DecodeString(dk["plaintext"].(string)); len(plain) != 64 {
			t.Fatalf("datakey: %v", dk)
		}
		if pt := mustWrite(t, lg, "transit/decrypt/wrapping", map[string]any{"ciphertext": dk["ciphertext"]}).Data["plaintext"]; pt != dk["plaintext"] {
			t.Fatal("datakey ciphertext does not decrypt to its plaintext")
		}
		if w := mustWrite(t, lg, "transit/datakey/wrapped/wrapping", nil).Data; w["plaintext"] != nil || w["ciphertext"] == nil {
			t.Fatalf("wrapped datakey shows its plaintext: %v", w)
		}
		exp, err := lg.ReadWithContext(ctx, "transit/export/hmac-key/wrapping/latest")
		if err != nil {
			t.Fatal(err)
		}
		hkey, _ := base64.StdEncoding.DecodeString(exp.Data["keys"].(map[string]any)["1"].(string))
		mac := mustWrite(t, lg, "transit/hmac/wrapping/sha2-512", map[string]any{"input": b64("payload")}).Data["hmac"].(string)
		if !bytes.Equal(rawSig(t, mac), hmacOf(sha512.New, hkey, []byte("payload"))) {
			t.Fatal("transit HMAC differs from HMAC-SHA512 under the exported key")
		}
		if v := mustWrite(t, lg, "transit/verify/wrapping/sha2-512", map[string]any{"input": b64("payload"), "hmac": mac}).Data["valid"]; v != true {
			t.Fatalf("hmac verify: %v", v)
		}
		rnd := mustWrite(t, lg, "transit/random/24", map[string]any{"format": "hex"}).Data["random_bytes"].(string)
		if len(rnd) != 48 {
			t.Fatalf("random: %q", rnd)
		}
		sum := mustWrite(t, lg, "transit/hash/sha2-256", map[string]any{"input": b64("abc")}).Data["sum"]
		if sum != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
			t.Fatalf("hash: %v", sum)
		}
		if _, err := lg.ReadWithContext(ctx, "transit/export/encryption-key/orders"); !hasStatus(err, 400) {
			t.Fatalf("export of a non-exportable key: %v", err)
		}
		if _, err := lg.DeleteWithContext(ctx, "transit/keys/wrapping"); !hasStatus(err, 400) {
			t.Fatalf("delete without deletion_allowed: %v", err)
		}
		mustWrite(t, lg, "transit/keys/wrapping/config", map[string]any{"deletion_allowed": true})
		if _, err := lg.DeleteWithContext(ctx, "transit/keys/wrapping"); err != nil {
			t.Fatal(err)
		}
		if s, err := lg.ReadWithContext(ctx, "transit/keys/wrapping"); s != nil || err != nil {
			t.Fatalf("a deleted key reads as %v %v", s, err)
		}
		list, err := lg.ListWithContext(ctx, "transit/keys")
		if err != nil || list == nil || len(list.Data["keys"].([]any)) < 10 {
			t.Fatalf("list: %v %v", list, err)
		}
	})

	t.Run("encrypting with a new key needs the create capability", func(t *testing.T) {
		pol := `@id("encrypt-only") permit (principal, action == Action::"update", resource) when { resource.path like "transit/encrypt/*" };`
		mustWrite(t, lg, "sys/policies/cedar/encrypt-only", map[string]any{"policy": pol})
		tok, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"encrypt-only"}})
		if err != nil {
			t.Fatal(err)
		}
		app := baoClient(t, ep.Gateways["vault"], tok.Auth.ClientToken).Logical()
		if _, err := app.WriteWithContext(ctx, "transit/encrypt/orders", map[string]any{"plaintext": b64("x")}); err != nil {
			t.Fatalf("encrypt with an existing key: %v", err)
		}
		if _, err := app.WriteWithContext(ctx, "transit/encrypt/brand-new", map[string]any{"plaintext": b64("x")}); !hasStatus(err, 403) {
			t.Fatalf("upsert without create: %v", err)
		}
		// Root may: the key appears, aes256-gcm96 by default.
		mustWrite(t, lg, "transit/encrypt/brand-new", map[string]any{"plaintext": b64("x")})
		if k, err := lg.ReadWithContext(ctx, "transit/keys/brand-new"); err != nil || k.Data["type"] != "aes256-gcm96" {
			t.Fatalf("upserted key: %v %v", k, err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		good := mustWrite(t, lg, "transit/encrypt/orders", map[string]any{"plaintext": b64("x")}).Data["ciphertext"].(string)
		raw := rawSig(t, good)
		raw[len(raw)-1] ^= 1
		tampered := "vault:v2:" + base64.StdEncoding.EncodeToString(raw)
		for _, c := range []struct {
			method, path, body string
			status             int
			message            string
		}{
			{"GET", "transit/keys/nope", "", 404, ""},
			{"POST", "transit/decrypt/nope", `{"ciphertext":"vault:v1:AAAA"}`, 400, "encryption key not found"},
			{"POST", "transit/keys/bad-type", `{"type":"aes512"}`, 400, `unknown key type \"aes512\"`},
			{"POST", "transit/sign/orders", `{"input":"aGk="}`, 400, "does not support signing"},
			{"POST", "transit/encrypt/sig-ed25519", `{"plaintext":"aGk="}`, 400, "does not support encryption"},
			{"POST", "transit/decrypt/orders", `{"ciphertext":"` + tampered + `"}`, 400, "cipher: message authentication failed"},
			{"POST", "transit/decrypt/orders", `{"ciphertext":"vault:v9:` + strings.SplitN(good, ":", 3)[2] + `"}`, 400, "version is too new"},
			{"POST", "transit/decrypt/orders", `{"ciphertext":"vault:v2:!!notbase64"}`, 400, "could not decode base64"},
			{"POST", "transit/encrypt/orders", `{"plaintext":"!!notbase64"}`, 400, "failed to base64-decode plaintext"},
			{"POST", "transit/encrypt/orders", `{"plaintext":`, 400, "failed to parse JSON"},
			{"POST", "transit/keys/orders/config", `{"min_decryption_version":"seven"}`, 400, "min_decryption_version"},
			{"POST", "transit/random/999999999", "", 400, "bytes must be between"},
			{"POST", "transit/keys/bad%20name", "", 400, "invalid key name"},
			{"PATCH", "transit/keys/orders", "", 405, ""},
		} {
			req, _ := http.NewRequest(c.method, ep.Gateways["vault"]+"/v1/"+c.path, strings.NewReader(c.body))
			req.Header.Set("X-Vault-Token", vaultInit.RootToken)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.status || !strings.Contains(string(body), c.message) {
				t.Errorf("%s %s: %d %s, want %d with %q", c.method, c.path, res.StatusCode, body, c.status, c.message)
			}
			if strings.Contains(string(body), "vault-crypto") || strings.Contains(string(body), "x509:") || strings.Contains(string(body), "internal error") {
				t.Errorf("%s %s leaks detail: %s", c.method, c.path, body)
			}
		}
	})
}

func hmacOf(h func() hash.Hash, key, msg []byte) []byte {
	m := hmac.New(h, key)
	m.Write(msg)
	return m.Sum(nil)
}
