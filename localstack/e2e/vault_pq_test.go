package e2e

import (
	"bytes"
	"context"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	bao "github.com/openbao/openbao/api/v2"
)

// The post-quantum values of the vault, judged by implementations we did not
// write: @noble/post-quantum (ML-DSA-65, ML-KEM-768 and X-Wing key
// generation) and hpke-js (@hpke/core, @hpke/ml-kem, @hpke/hybridkem-x-wing),
// pinned in testdata/pqcheck and run by Node from check.mjs.

const pqCheckDir = "testdata/pqcheck"

// pqCheck runs check.mjs on checks and returns its results, in order.
func pqCheck(t *testing.T, checks []map[string]any) []map[string]any {
	t.Helper()
	if _, err := os.Stat(filepath.Join(pqCheckDir, "node_modules", "@noble", "post-quantum", "package.json")); err != nil {
		// `make deps` installs them; a test run on its own installs them too.
		install := exec.Command("npm", "ci", "--no-audit", "--no-fund")
		install.Dir = pqCheckDir
		if out, err := install.CombinedOutput(); err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", pqCheckDir, err, out)
		}
	}
	in, err := json.Marshal(checks)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "check.mjs")
	cmd.Dir = pqCheckDir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node check.mjs: %v\n%s", err, stderr.String())
	}
	var results []map[string]any
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(checks) {
		t.Fatalf("check.mjs answered %d results for %d checks: %v\n%s", len(results), len(checks), err, out)
	}
	return results
}

// pqExpect fails the test when a result's field is not want, naming the check.
func pqExpect(t *testing.T, what string, result map[string]any, field string, want any) {
	t.Helper()
	if result["error"] != nil || result[field] != want {
		t.Errorf("%s: %s = %v (error %v), want %v", what, field, result[field], result["error"], want)
	}
}

func unb64(t *testing.T, s any) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s.(string))
	if err != nil {
		t.Fatalf("not base64: %v", s)
	}
	return b
}

// payloadOf is the base64 payload of a "vault:vN:" value.
func payloadOf(t *testing.T, v any) string {
	t.Helper()
	parts := strings.SplitN(v.(string), ":", 3)
	if len(parts) != 3 {
		t.Fatalf("not a vault:vN: value: %v", v)
	}
	return parts[2]
}

func TestVaultPQIndependent(t *testing.T) {
	ctx := context.Background()
	root := unsealedRoot(t)
	for m, typ := range map[string]string{"transit_pqcheck": "transit", "pki_pqcheck": "pki"} {
		if err := root.Sys().MountWithContext(ctx, m, &bao.MountInput{Type: typ}); err != nil {
			t.Fatal(err)
		}
	}
	lg := root.Logical()
	t.Run("ML-DSA-65 transit signatures verify with noble", func(t *testing.T) { pqSignatures(t, lg) })
	t.Run("ML-DSA-65 certificates verify with noble", func(t *testing.T) { pqCertificates(t, lg) })
	for _, typ := range []string{"ml-kem-768", "x-wing"} {
		t.Run(typ+" is HPKE that hpke-js speaks both ways", func(t *testing.T) { pqHPKE(t, lg, typ) })
	}
	t.Run("bad input is a 400 naming the problem", func(t *testing.T) { pqBadInput(t, lg) })
}

func pqSignatures(t *testing.T, lg *bao.Logical) {
	mustWrite(t, lg, "transit_pqcheck/keys/signer", map[string]any{"type": "ml-dsa-65"})
	msg, ctxStr := b64("firmware 7.1 for the pumps"), b64("release-signing")
	plain := mustWrite(t, lg, "transit_pqcheck/sign/signer", map[string]any{"input": msg}).Data
	withCtx := mustWrite(t, lg, "transit_pqcheck/sign/signer", map[string]any{"input": msg, "context": ctxStr}).Data
	pub := plain["public_key"].(string)
	if n := len(unb64(t, pub)); n != 1952 {
		t.Fatalf("ML-DSA-65 public key is %d bytes, want 1952 (FIPS 204)", n)
	}
	flipped := unb64(t, payloadOf(t, plain["signature"]))
	flipped[100] ^= 0x01
	check := func(sig, ctx string) map[string]any {
		return map[string]any{"op": "mldsa65-verify", "public_key": pub, "message": msg, "signature": sig, "context": ctx}
	}
	sig, sigCtx := payloadOf(t, plain["signature"]), payloadOf(t, withCtx["signature"])
	res := pqCheck(t, []map[string]any{
		check(sig, ""),
		check(sigCtx, ctxStr),
		check(base64.StdEncoding.EncodeToString(flipped), ""),
		check(sigCtx, ""),
		check(sig, ctxStr),
	})
	for i, want := range []bool{true, true, false, false, false} {
		pqExpect(t, []string{"no context", "with context", "one flipped byte", "context dropped", "context added"}[i], res[i], "valid", want)
	}
}

// rawCertificate is an X.509 certificate split as RFC 5280 defines it.
type rawCertificate struct {
	TBS struct {
		Raw       asn1.RawContent
		Version   int `asn1:"optional,explicit,default:0,tag:0"`
		Serial    asn1.RawValue
		Signature asn1.RawValue
		Issuer    asn1.RawValue
		Validity  asn1.RawValue
		Subject   asn1.RawValue
		SPKI      struct {
			Algorithm asn1.RawValue
			PublicKey asn1.BitString
		}
		Extensions asn1.RawValue `asn1:"optional"`
	}
	SignatureAlgorithm asn1.RawValue
	Signature          asn1.BitString
}

// idMLDSA65 is AlgorithmIdentifier { id-ml-dsa-65 } with parameters absent (RFC 9881).
var idMLDSA65 = []byte{0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x12}

func splitCertificate(t *testing.T, pemText any) rawCertificate {
	t.Helper()
	block, _ := pem.Decode([]byte(pemText.(string)))
	if block == nil {
		t.Fatalf("not PEM: %v", pemText)
	}
	var c rawCertificate
	if rest, err := asn1.Unmarshal(block.Bytes, &c); err != nil || len(rest) > 0 {
		t.Fatalf("certificate DER: %v", err)
	}
	for what, alg := range map[string][]byte{"signatureAlgorithm": c.SignatureAlgorithm.FullBytes,
		"tbs signature": c.TBS.Signature.FullBytes, "SPKI algorithm": c.TBS.SPKI.Algorithm.FullBytes} {
		if !bytes.Equal(alg, idMLDSA65) {
			t.Errorf("%s is %x, want id-ml-dsa-65 with absent parameters %x", what, alg, idMLDSA65)
		}
	}
	if len(c.TBS.SPKI.PublicKey.Bytes) != 1952 || len(c.Signature.Bytes) != 3309 {
		t.Errorf("public key %d bytes (want 1952), signature %d bytes (want 3309)", len(c.TBS.SPKI.PublicKey.Bytes), len(c.Signature.Bytes))
	}
	return c
}

func pqCertificates(t *testing.T, lg *bao.Logical) {
	ca := mustWrite(t, lg, "pki_pqcheck/root/generate/internal", map[string]any{"common_name": "PQ Check Root", "key_type": "ml-dsa-65", "ttl": "8760h"}).Data
	mustWrite(t, lg, "pki_pqcheck/roles/pq", map[string]any{"allow_any_name": true, "key_type": "ml-dsa-65"})
	leaf := mustWrite(t, lg, "pki_pqcheck/issue/pq", map[string]any{"common_name": "pumps.example.com"}).Data
	root, cert := splitCertificate(t, ca["certificate"]), splitCertificate(t, leaf["certificate"])
	rootPub := base64.StdEncoding.EncodeToString(root.TBS.SPKI.PublicKey.Bytes)
	verify := func(c rawCertificate, tbs []byte) map[string]any {
		return map[string]any{"op": "mldsa65-verify", "public_key": rootPub, "message": base64.StdEncoding.EncodeToString(tbs),
			"signature": base64.StdEncoding.EncodeToString(c.Signature.Bytes)}
	}
	altered := append([]byte{}, cert.TBS.Raw...)
	altered[len(altered)-5] ^= 0x01
	res := pqCheck(t, []map[string]any{verify(root, root.TBS.Raw), verify(cert, cert.TBS.Raw), verify(cert, altered)})
	pqExpect(t, "root self-signature", res[0], "valid", true)
	pqExpect(t, "leaf signed by the root", res[1], "valid", true)
	pqExpect(t, "leaf TBS with one byte changed", res[2], "valid", false)
}

func pqHPKE(t *testing.T, lg *bao.Logical, typ string) {
	name := "hpke-" + typ
	path := "transit_pqcheck/keys/" + name
	mustWrite(t, lg, path, map[string]any{"type": typ, "exportable": true})
	key, err := lg.Read(path)
	if err != nil || key == nil {
		t.Fatalf("read %s: %v", path, err)
	}
	v1 := key.Data["keys"].(map[string]any)["1"].(map[string]any)
	pub := v1["public_key"].(string)
	wantLen := map[string]int{"ml-kem-768": 1184, "x-wing": 1216}[typ]
	if n := len(unb64(t, pub)); n != wantLen {
		t.Fatalf("%s public key is %d bytes, want %d", typ, n, wantLen)
	}
	pqCheckSPKI(t, typ, v1["public_key_pem"], unb64(t, pub))
	exp, err := lg.Read("transit_pqcheck/export/encryption-key/" + name + "/1")
	if err != nil || exp == nil {
		t.Fatalf("export: %v", err)
	}
	seed := exp.Data["keys"].(map[string]any)["1"].(string)
	ours := mustWrite(t, lg, "transit_pqcheck/encrypt/"+name, map[string]any{"plaintext": b64("from the vault")}).Data["ciphertext"]
	info := b64("stratum/transit/" + name + "/v1")
	keygen := map[string]string{"ml-kem-768": "mlkem768-keygen", "x-wing": "xwing-keygen"}[typ]
	res := pqCheck(t, []map[string]any{
		{"op": "hpke-seal", "kem": typ, "public_key": pub, "info": info, "plaintext": b64("from hpke-js")},
		{"op": "hpke-open", "kem": typ, "private_key": seed, "info": info, "payload": payloadOf(t, ours)},
		{"op": "hpke-open", "kem": typ, "private_key": seed, "info": b64("stratum/transit/" + name + "/v2"), "payload": payloadOf(t, ours)},
		{"op": keygen, "seed": seed},
	})
	pqExpect(t, "hpke-js opens the vault's ciphertext", res[1], "plaintext", b64("from the vault"))
	if res[2]["error"] == nil {
		t.Error("hpke-js opened the ciphertext with another version's info")
	}
	pqExpect(t, "noble derives the published key from the exported seed", res[3], "public_key", pub)
	if res[0]["error"] != nil {
		t.Fatalf("hpke-js seal: %v", res[0]["error"])
	}
	pqExpect(t, "hpke-js KEM id", res[0], "kem_id", float64(map[string]int{"ml-kem-768": 0x0041, "x-wing": 0x647a}[typ]))
	got := mustWrite(t, lg, "transit_pqcheck/decrypt/"+name, map[string]any{"ciphertext": "vault:v1:" + res[0]["payload"].(string)}).Data["plaintext"]
	if got != b64("from hpke-js") {
		t.Errorf("the vault decrypts hpke-js's ciphertext as %v", got)
	}
}

// pqCheckSPKI checks public_key_pem: SubjectPublicKeyInfo with the type's OID,
// absent parameters and the raw key.
func pqCheckSPKI(t *testing.T, typ string, pemText any, raw []byte) {
	t.Helper()
	text, _ := pemText.(string)
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("%s public_key_pem: %q", typ, text)
	}
	var spki struct {
		Algorithm asn1.RawValue
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(block.Bytes, &spki); err != nil {
		t.Fatal(err)
	}
	var oid asn1.ObjectIdentifier
	rest, err := asn1.Unmarshal(spki.Algorithm.Bytes, &oid)
	want := map[string]string{"ml-kem-768": "2.16.840.1.101.3.4.4.2", "x-wing": "1.3.6.1.4.1.62253.25722"}[typ]
	if err != nil || len(rest) > 0 || oid.String() != want || !bytes.Equal(spki.PublicKey.Bytes, raw) {
		t.Errorf("%s SPKI: OID %s (want %s), %d bytes after it, key matches %v", typ, oid, want, len(rest), bytes.Equal(spki.PublicKey.Bytes, raw))
	}
}

func pqBadInput(t *testing.T, lg *bao.Logical) {
	name := "hpke-ml-kem-768"
	v1 := mustWrite(t, lg, "transit_pqcheck/encrypt/"+name, map[string]any{"plaintext": b64("x")}).Data["ciphertext"]
	mustWrite(t, lg, "transit_pqcheck/keys/"+name+"/rotate", nil)
	raw := unb64(t, payloadOf(t, v1))
	truncated := "vault:v1:" + base64.StdEncoding.EncodeToString(raw[:1000])
	for _, c := range []struct{ path, body, message string }{
		{"decrypt/" + name, `{"ciphertext":"` + truncated + `"}`, "too short: an ml-kem-768 ciphertext is the 1088-byte HPKE enc"},
		{"decrypt/" + name, `{"ciphertext":"vault:v2:` + payloadOf(t, v1) + `"}`, `not made for version 2 of key \"` + name + `\"`},
		{"sign/signer", `{"input":"aGk=","context":"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("c"), 256)) + `"}`, "context for ML-DSA must be at most 255 bytes"},
		{"encrypt/" + name, `{"plaintext":"aGk=","context":"Yw=="}`, "context must be empty"},
	} {
		req, _ := http.NewRequest("POST", ep.Gateways["vault"]+"/v1/transit_pqcheck/"+c.path, strings.NewReader(c.body))
		req.Header.Set("X-Vault-Token", vaultInit.RootToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 400 || !strings.Contains(string(body), c.message) {
			t.Errorf("POST %s: %d %s, want 400 with %q", c.path, res.StatusCode, body, c.message)
		}
	}
}
