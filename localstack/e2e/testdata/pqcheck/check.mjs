// Independent checks of SecretumVault's post-quantum values, with code we did
// not write: @noble/post-quantum (ML-KEM, ML-DSA, X-Wing) and hpke-js
// (@hpke/core with @hpke/ml-kem and @hpke/hybridkem-x-wing, RFC 9180 HPKE).
//
// Reads a JSON array of checks on stdin and writes a JSON array of results,
// in order, on stdout. Bytes are base64. A check that throws gives
// {"error": "..."} so the Go side can name what failed.
//
//   {"op":"mldsa65-verify","public_key","message","signature","context"?} -> {"valid"}
//   {"op":"mlkem768-keygen","seed"} (64 bytes, d ‖ z)                     -> {"public_key"}
//   {"op":"xwing-keygen","seed"} (32 bytes)                              -> {"public_key"}
//   {"op":"hpke-seal","kem","public_key","info","plaintext"}             -> {"payload"} (enc ‖ ciphertext)
//   {"op":"hpke-open","kem","private_key","info","payload"}              -> {"plaintext"}
// kem is "ml-kem-768" or "x-wing"; private_key is the exported seed.
import { ml_dsa65 } from "@noble/post-quantum/ml-dsa.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { ml_kem768_x25519 } from "@noble/post-quantum/hybrid.js";
import { Aes256Gcm, CipherSuite, HkdfSha256 } from "@hpke/core";
import { MlKem768 } from "@hpke/ml-kem";
import { XWing } from "@hpke/hybridkem-x-wing";

const b = (s) => new Uint8Array(Buffer.from(s ?? "", "base64"));
const s = (u) => Buffer.from(new Uint8Array(u)).toString("base64");

function suite(kem) {
  const kems = { "ml-kem-768": MlKem768, "x-wing": XWing };
  if (!kems[kem]) throw new Error(`unknown kem ${kem}`);
  return new CipherSuite({ kem: new kems[kem](), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
}

async function hpkeSeal(c) {
  const cs = suite(c.kem);
  const recipientPublicKey = await cs.kem.deserializePublicKey(b(c.public_key));
  const { ct, enc } = await cs.seal({ recipientPublicKey, info: b(c.info) }, b(c.plaintext));
  const payload = new Uint8Array(enc.byteLength + ct.byteLength);
  payload.set(new Uint8Array(enc), 0);
  payload.set(new Uint8Array(ct), enc.byteLength);
  return { payload: s(payload), kem_id: cs.kem.id };
}

async function hpkeOpen(c) {
  const cs = suite(c.kem);
  const payload = b(c.payload);
  const n = cs.kem.encSize;
  if (payload.length < n) throw new Error(`payload of ${payload.length} bytes is shorter than enc (${n})`);
  const recipientKey = await cs.kem.deserializePrivateKey(b(c.private_key));
  const pt = await cs.open({ recipientKey, enc: payload.slice(0, n), info: b(c.info) }, payload.slice(n));
  return { plaintext: s(pt), kem_id: cs.kem.id };
}

async function check(c) {
  switch (c.op) {
    case "mldsa65-verify": {
      const opts = c.context ? { context: b(c.context) } : undefined;
      return { valid: ml_dsa65.verify(b(c.signature), b(c.message), b(c.public_key), opts) };
    }
    case "mlkem768-keygen":
      return { public_key: s(ml_kem768.keygen(b(c.seed)).publicKey) };
    case "xwing-keygen":
      return { public_key: s(ml_kem768_x25519.keygen(b(c.seed)).publicKey) };
    case "hpke-seal":
      return hpkeSeal(c);
    case "hpke-open":
      return hpkeOpen(c);
  }
  throw new Error(`unknown op ${c.op}`);
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const results = [];
for (const c of JSON.parse(Buffer.concat(chunks).toString("utf8"))) {
  try {
    results.push(await check(c));
  } catch (e) {
    results.push({ error: `${e?.name ?? "Error"}: ${e?.message ?? e}` });
  }
}
process.stdout.write(JSON.stringify(results));
