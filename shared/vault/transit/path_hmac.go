package transit

import (
	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

func (k keyRequest) hmac() (keeper.EngineResponse, error) {
	k.pathAlgorithm()
	p, err := k.existing("HMAC")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.batch(func(f engine.Fields) (map[string]any, error) {
		f = k.withDefaults(f)
		input, err := f.Base64("input")
		if err != nil {
			return nil, err
		}
		alg, err := f.String("algorithm")
		if err != nil {
			return nil, err
		}
		version, err := f.Int("key_version")
		if err != nil {
			return nil, err
		}
		mac, v, err := p.HMAC(version, alg, input)
		if err != nil {
			return nil, err
		}
		return map[string]any{"hmac": mac, "key_version": v}, nil
	})
}
