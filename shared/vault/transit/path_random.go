package transit

import (
	"encoding/base64"
	"encoding/hex"
	"strconv"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// maxRandomBytes bounds random/<n>, as Vault does.
const maxRandomBytes = 128 * 1024

// random serves random[/<source>][/<bytes>].
func random(q request) (keeper.EngineResponse, error) {
	f := q.f
	var args []string
	for _, name := range []string{"arg1", "arg2"} {
		if a, ok := q.p[name]; ok {
			args = append(args, a)
		}
	}
	n, err := f.Int("bytes")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	format, err := f.String("format")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	for _, a := range args {
		switch a {
		case "platform", "seal", "all":
		default:
			if n, err = strconv.Atoi(a); err != nil {
				return keeper.EngineResponse{}, invalid("invalid URL input: %q is neither a source nor a byte count", a)
			}
		}
	}
	if n == 0 {
		n = 32
	}
	if n < 1 || n > maxRandomBytes {
		return keeper.EngineResponse{}, invalid("bytes must be between 1 and %d", maxRandomBytes)
	}
	b := randomBytes(n)
	switch format {
	case "", "base64":
		return engine.OK(map[string]any{"random_bytes": base64.StdEncoding.EncodeToString(b)})
	case "hex":
		return engine.OK(map[string]any{"random_bytes": hex.EncodeToString(b)})
	}
	return keeper.EngineResponse{}, invalid("unsupported encoding format %q; must be \"hex\" or \"base64\"", format)
}

// hash serves hash[/<algorithm>].
func hash(q request) (keeper.EngineResponse, error) {
	f := q.f
	alg, err := f.String("algorithm")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if a, ok := q.p["algorithm"]; ok {
		alg = a
	}
	h, err := hashByName(alg)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if !f.Has("input") {
		return keeper.EngineResponse{}, invalid("missing input to hash")
	}
	input, err := f.Base64("input")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	format, err := f.String("format")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	w := h.New()
	w.Write(input)
	sum := w.Sum(nil)
	switch format {
	case "", "hex":
		return engine.OK(map[string]any{"sum": hex.EncodeToString(sum)})
	case "base64":
		return engine.OK(map[string]any{"sum": base64.StdEncoding.EncodeToString(sum)})
	}
	return keeper.EngineResponse{}, invalid("unsupported encoding format %q; must be \"hex\" or \"base64\"", format)
}
