package llm

import (
	"context"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/vaultkv"
)

// keysFor picks where providers' keys are sealed: SecretumVault's KV when
// VAULT_ADDR is set, else the platform's application-secrets KMS key
// (SECRETS_KMS_KEY; never the vault's unseal key). With neither, only
// providers without a key (a local Ollama) can be configured.
func keysFor(ctx context.Context, d *function.Deps) (Keys, error) {
	if addr := d.Env("VAULT_ADDR"); addr != "" {
		kv, err := vaultkv.FromEnv(addr, d.Env, d.Env("VAPORA_LLM_VAULT_MOUNT"))
		if err != nil {
			return nil, err
		}
		return VaultKeysWith(kv), nil
	}
	keyID := d.Env("SECRETS_KMS_KEY")
	if keyID == "" {
		d.Log.Warn("no key store for provider keys: set VAULT_ADDR or SECRETS_KMS_KEY")
		return nil, nil
	}
	return NewKMSKeys(ctx, keyID, d.Env("AWS_ENDPOINT_URL_KMS"))
}

// RouterFromDeps builds the router of a function from its environment.
func RouterFromDeps(ctx context.Context, d *function.Deps) (*Router, error) {
	keys, err := keysFor(ctx, d)
	if err != nil {
		return nil, err
	}
	router := NewRouter(NewStore(d.Surreal), keys, NewCaller())
	if d.Bus != nil {
		router.PublishCosts(d.Bus) // vapora-llm-on-cost writes the records
	}
	return router, nil
}

// Functions is vapora-llm and vapora-llm-on-cost, by catalog name
// (vapora-agent-runner is in runner).
func Functions() function.Set {
	return function.Set{"vapora-llm": Function, "vapora-llm-on-cost": CostConsumer}
}

// Function is vapora-llm.
func Function() function.Builder {
	return function.HTTP(Spec, func(ctx context.Context, d *function.Deps) (*API, error) {
		router, err := RouterFromDeps(ctx, d)
		if err != nil {
			return nil, err
		}
		engine, err := authz.Load(schemas.Cedar, "cedar/vapora")
		if err != nil {
			return nil, err
		}
		auth, err := d.Authenticator()
		if err != nil {
			return nil, err
		}
		return NewAPI(router, engine, auth), nil
	})
}
