package transit

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// batch runs item on each element of batch_input, or once on the request
// itself. Any failed item makes the answer a 400 that still carries every
// result, as OpenBao answers.
func (k keyRequest) batch(item func(engine.Fields) (map[string]any, error)) (keeper.EngineResponse, error) {
	items, isBatch, err := k.f.Batch()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if !isBatch {
		out, err := item(k.f)
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.OK(out)
	}
	results := make([]map[string]any, len(items))
	status := http.StatusOK
	for i, it := range items {
		out, err := item(it)
		if err != nil {
			var inv *keeper.InvalidError
			if !errors.As(err, &inv) {
				return keeper.EngineResponse{}, err
			}
			out, status = map[string]any{"error": inv.Msg}, http.StatusBadRequest
		}
		if ref, ok := it["reference"]; ok {
			out["reference"] = ref
		}
		results[i] = out
	}
	return engine.WithStatus(status, map[string]any{"batch_results": results})
}

func (k keyRequest) encrypt() (keeper.EngineResponse, error) {
	p, err := k.e.recent(k.ctx, k.path)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if p == nil {
		// Encrypting with a key that does not exist creates it, which the
		// caller must be allowed to do.
		if !engine.Granted(k.req, "create") {
			return keeper.EngineResponse{Requires: "create"}, nil
		}
		o, err := optionsFrom(k.f)
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		if ctx, _ := k.f.String("context"); ctx != "" && !k.f.Has("derived") {
			o.Derived = true
		}
		if p, err = k.createWith(o); err != nil {
			return keeper.EngineResponse{}, err
		}
		res, err := k.encryptWith(p)
		// OpenBao creates it too, silently; we say so.
		res.Warnings = append(res.Warnings, fmt.Sprintf("key %q did not exist and was created with type %s", k.name, p.Type))
		return res, err
	}
	return k.encryptWith(p)
}

// encryptWith encrypts the request's plaintext (or batch) with p.
func (k keyRequest) encryptWith(p *Policy) (keeper.EngineResponse, error) {
	return k.batch(func(f engine.Fields) (map[string]any, error) {
		plain, err := f.Base64("plaintext")
		if err != nil {
			return nil, err
		}
		if !f.Has("plaintext") {
			return nil, invalid("missing plaintext to encrypt")
		}
		context, err := f.Base64("context")
		if err != nil {
			return nil, err
		}
		version, err := f.Int("key_version")
		if err != nil {
			return nil, err
		}
		ct, v, err := p.Encrypt(version, plain, context)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ciphertext": ct, "key_version": v}, nil
	})
}

func (k keyRequest) decrypt() (keeper.EngineResponse, error) {
	p, err := k.existing("encryption")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.batch(func(f engine.Fields) (map[string]any, error) {
		plain, _, err := openItem(p, f, "decrypt")
		if err != nil {
			return nil, err
		}
		return map[string]any{"plaintext": base64.StdEncoding.EncodeToString(plain)}, nil
	})
}

// openItem decrypts an item's ciphertext under its context; verb names the
// operation in the error for a missing ciphertext.
func openItem(p *Policy, f engine.Fields, verb string) (plain, context []byte, err error) {
	ct, err := f.String("ciphertext")
	if err != nil {
		return nil, nil, err
	}
	if ct == "" {
		return nil, nil, invalid("missing ciphertext to %s", verb)
	}
	if context, err = f.Base64("context"); err != nil {
		return nil, nil, err
	}
	plain, _, err = p.Decrypt(ct, context)
	return plain, context, err
}

func (k keyRequest) rewrap() (keeper.EngineResponse, error) {
	p, err := k.existing("encryption")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.batch(func(f engine.Fields) (map[string]any, error) {
		version, err := f.Int("key_version")
		if err != nil {
			return nil, err
		}
		plain, context, err := openItem(p, f, "rewrap")
		if err != nil {
			return nil, err
		}
		out, v, err := p.Encrypt(version, plain, context)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ciphertext": out, "key_version": v}, nil
	})
}
