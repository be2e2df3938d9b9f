package transit

import (
	"strconv"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// signOptions reads sign/verify's options from one item.
func signOptions(f engine.Fields) (SignOptions, error) {
	var o SignOptions
	var errs []error
	var err error
	o.HashAlgorithm, err = f.String("hash_algorithm")
	errs = append(errs, err)
	o.Prehashed, err = f.Bool("prehashed")
	errs = append(errs, err)
	o.SignatureAlgorithm, err = f.String("signature_algorithm")
	errs = append(errs, err)
	o.MarshalingAlgorithm, err = f.String("marshaling_algorithm")
	errs = append(errs, err)
	o.Context, err = f.Base64("context")
	errs = append(errs, err)
	return o, engine.First(errs...)
}

// pathAlgorithm applies the algorithm a path names (sign/<name>/<algorithm>).
func (k keyRequest) pathAlgorithm() {
	if alg, ok := k.p["algorithm"]; ok {
		k.f["hash_algorithm"], k.f["algorithm"] = alg, alg
	}
}

// withDefaults fills an item's missing options from the request's (batch
// items inherit hash_algorithm and the like from the top level).
func (k keyRequest) withDefaults(f engine.Fields) engine.Fields {
	for _, name := range []string{"hash_algorithm", "algorithm", "prehashed", "signature_algorithm", "marshaling_algorithm", "context", "key_version"} {
		if !f.Has(name) && k.f.Has(name) {
			f[name] = k.f[name]
		}
	}
	return f
}

func (k keyRequest) sign() (keeper.EngineResponse, error) {
	k.pathAlgorithm()
	p, err := k.existing("signing")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.batch(func(f engine.Fields) (map[string]any, error) {
		f = k.withDefaults(f)
		o, err := signOptions(f)
		if err != nil {
			return nil, err
		}
		input, err := f.Base64("input")
		if err != nil {
			return nil, err
		}
		version, err := f.Int("key_version")
		if err != nil {
			return nil, err
		}
		sig, v, err := p.Sign(version, input, o)
		if err != nil {
			return nil, err
		}
		pub, err := p.Keys[strconv.Itoa(v)].publicKey(p.Type)
		if err != nil {
			return nil, err
		}
		return map[string]any{"signature": sig, "key_version": v, "public_key": pub}, nil
	})
}

func (k keyRequest) verify() (keeper.EngineResponse, error) {
	k.pathAlgorithm()
	p, err := k.existing("signature verification")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.batch(func(f engine.Fields) (map[string]any, error) {
		f = k.withDefaults(f)
		input, err := f.Base64("input")
		if err != nil {
			return nil, err
		}
		sig, _ := f.String("signature")
		mac, _ := f.String("hmac")
		switch {
		case sig != "" && mac != "":
			return nil, invalid("provide one of 'signature' or 'hmac', not both")
		case mac != "":
			alg, err := f.String("algorithm")
			if err != nil {
				return nil, err
			}
			ok, err := p.VerifyHMAC(alg, input, mac)
			if err != nil {
				return nil, err
			}
			return map[string]any{"valid": ok}, nil
		case sig == "":
			return nil, invalid("missing signature or hmac to verify")
		}
		o, err := signOptions(f)
		if err != nil {
			return nil, err
		}
		ok, err := p.Verify(input, sig, o)
		if err != nil {
			return nil, err
		}
		return map[string]any{"valid": ok}, nil
	})
}
