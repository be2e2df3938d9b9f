package llm

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/vapora"
)

// keysFor picks where providers' keys are sealed: SecretumVault's KV when
// VAULT_ADDR is set, else the platform's application-secrets KMS key
// (SECRETS_KMS_KEY; never the vault's unseal key). With neither, only
// providers without a key (a local Ollama) can be configured.
func keysFor(ctx context.Context, d *function.Deps) (Keys, error) {
	if addr := d.Env("VAULT_ADDR"); addr != "" {
		return NewVaultKeys(addr, d.Env("VAULT_TOKEN"), d.Env("VAPORA_LLM_VAULT_MOUNT"))
	}
	keyID := d.Env("SECRETS_KMS_KEY")
	if keyID == "" {
		d.Log.Warn("no key store for provider keys: set VAULT_ADDR or SECRETS_KMS_KEY")
		return nil, nil
	}
	return NewKMSKeys(ctx, keyID, d.Env("AWS_ENDPOINT_URL_KMS"))
}

func routerFor(ctx context.Context, d *function.Deps) (*Router, error) {
	keys, err := keysFor(ctx, d)
	if err != nil {
		return nil, err
	}
	return NewRouter(NewStore(d.Surreal), keys, NewCaller()), nil
}

// Functions are the router's functions, by catalog name.
var Functions = function.Set{
	"vapora-llm": function.HTTP(func(ctx context.Context, d *function.Deps) (http.Handler, error) {
		router, err := routerFor(ctx, d)
		if err != nil {
			return nil, err
		}
		engine, err := authz.Load(schemas.Cedar, "cedar/vapora")
		if err != nil {
			return nil, err
		}
		auth, err := principal.New(principal.Config{JWTSecret: d.Env("API_JWT_SECRET"), APIKeys: d.Env("API_KEYS")})
		if err != nil {
			return nil, fmt.Errorf("vapora-llm authentication: %w", err)
		}
		return NewAPI(router, engine, auth).Handler(), nil
	}),
	"vapora-agent-runner": function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		router, err := routerFor(ctx, d)
		if err != nil {
			return nil, err
		}
		maxTokens, err := strconv.ParseInt(d.Env("VAPORA_RUNNER_MAX_TOKENS"), 10, 64)
		if err != nil || maxTokens <= 0 {
			return nil, fmt.Errorf("VAPORA_RUNNER_MAX_TOKENS %q: want a positive integer", d.Env("VAPORA_RUNNER_MAX_TOKENS"))
		}
		// The runner only reads tasks and agents, which takes no lock.
		tasks := vapora.NewStore(d.Surreal, nil)
		r := NewRunner(router, tasks, d.Bus, maxTokens)
		return bus.Typed(func(ctx context.Context, del bus.Delivery, e events.TaskAssignment) error {
			return r.OnAssign(ctx, del, e)
		}), nil
	}),
}
