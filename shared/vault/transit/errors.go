// Package transit is SecretumVault's transit engine: named keys with
// versions that encrypt, sign and MAC for callers that never see them,
// with OpenBao's API and the post-quantum types ML-DSA-65, ML-KEM-768,
// X-Wing and the Ed25519+ML-DSA-65 hybrid. It runs inside vault-crypto,
// the only function that holds key material.
package transit

import "github.com/stratumiops/stratumiops/shared/vault/engine"

var invalid = engine.Invalid
