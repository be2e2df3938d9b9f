package transit

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// datakey serves datakey/<plaintext|wrapped>/<name>.
func (k keyRequest) datakey() (keeper.EngineResponse, error) {
	kind := k.p["type"]
	if kind != "plaintext" && kind != "wrapped" {
		return keeper.EngineResponse{}, invalid("invalid type %q: want plaintext or wrapped", kind)
	}
	p, err := k.existing("encryption")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	bits, err := k.f.Int("bits")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	switch bits {
	case 0:
		bits = 256
	case 128, 256, 512:
	default:
		return keeper.EngineResponse{}, invalid("invalid bit length %d: want 128, 256 or 512", bits)
	}
	context, err := k.f.Base64("context")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	version, err := k.f.Int("key_version")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	key := make([]byte, bits/8)
	if _, err := rand.Read(key); err != nil {
		return keeper.EngineResponse{}, err
	}
	ct, v, err := p.Encrypt(version, key, context)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	out := map[string]any{"ciphertext": ct, "key_version": v}
	if kind == "plaintext" {
		out["plaintext"] = base64.StdEncoding.EncodeToString(key)
	}
	return engine.OK(out)
}
