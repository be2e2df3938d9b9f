package function

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
)

type secretSpec struct {
	arnVar string
	fields map[string]string // JSON field → variable
}

// secretSpecs are the secrets a function may be given: SURREAL_SECRET_ARN
// names a JSON secret {"url","user","pass","ca"}, NATS_SECRET_ARN one {"url",
// "creds" (a .creds file's content), "token", "ca"} ("ca": the PEM of a
// private CA, the self-hosted servers'), API_AUTH_SECRET_ARN one
// {"jwt_secret","api_keys"}, VAULT_INIT_SECRET_ARN one {"token"} (vault-sys's
// init gate, shared/vault.GateInit), VAULT_AUTH_SECRET_ARN one {"addr",
// "role_id", "secret_id", "token"} (a vault reader's AppRole or token,
// shared/platform/vaultkv.FromEnv), and <SYSTEM>_CLIENT_SECRET_ARN one
// {"url", "api_key"} for each system the function calls (catalog Function.Calls).
func secretSpecs(environ []string) []secretSpec {
	specs := []secretSpec{
		{"SURREAL_SECRET_ARN", map[string]string{"url": "SURREAL_URL", "user": "SURREAL_USER", "pass": "SURREAL_PASS", "ca": "SURREAL_CA"}},
		{"NATS_SECRET_ARN", map[string]string{"url": "NATS_URL", "creds": "NATS_CREDS", "token": "NATS_TOKEN", "ca": "NATS_CA"}},
		{"API_AUTH_SECRET_ARN", map[string]string{"jwt_secret": "API_JWT_SECRET", "api_keys": "API_KEYS"}},
		{"VAULT_INIT_SECRET_ARN", map[string]string{"token": "VAULT_INIT_TOKEN"}},
		{"VAULT_AUTH_SECRET_ARN", map[string]string{"addr": "VAULT_ADDR", "role_id": "VAULT_ROLE_ID", "secret_id": "VAULT_SECRET_ID", "token": "VAULT_TOKEN"}},
	}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if system, ok := strings.CutSuffix(name, "_CLIENT_SECRET_ARN"); ok && system != "" {
			specs = append(specs, secretSpec{name, map[string]string{"url": system + "_URL", "api_key": system + "_API_KEY"}})
		}
	}
	return specs
}

// Deployed functions get their credentials from Secrets Manager (see
// secretSpecs): resolveSecrets copies them into the plain variables
// (SURREAL_URL, …) that the adapters read, unless those are set, and
// returns what it read by ARN variable.
func resolveSecrets(ctx context.Context) (map[string]map[string]string, error) {
	specs := secretSpecs(os.Environ())
	read := map[string]map[string]string{} // by arnVar
	for _, spec := range specs {
		arn := os.Getenv(spec.arnVar)
		if arn == "" {
			continue
		}
		values, err := readSecret(ctx, arn)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.arnVar, err)
		}
		read[spec.arnVar] = values
		for field, envVar := range spec.fields {
			if os.Getenv(envVar) == "" && values[field] != "" {
				if err := os.Setenv(envVar, values[field]); err != nil {
					return nil, err
				}
			}
		}
	}
	return read, nil
}

// readSecret reads the JSON secret arn (an object of strings). Secrets
// Manager is AWS_ENDPOINT_URL_SECRETS_MANAGER or AWS_ENDPOINT_URL when set
// (LocalStack), else the region's.
func readSecret(ctx context.Context, arn string) (map[string]string, error) {
	cfg, err := awscfg.Load(ctx, "")
	if err != nil {
		return nil, err
	}
	var out struct {
		SecretString string
	}
	if err := awscfg.SecretsManager(cfg).Call(ctx, "GetSecretValue", map[string]string{"SecretId": arn}, &out); err != nil {
		return nil, fmt.Errorf("read secret %s: %w", arn, err)
	}
	var values map[string]string
	if err := json.Unmarshal([]byte(out.SecretString), &values); err != nil {
		return nil, fmt.Errorf("secret %s is not a JSON object of strings: %w", arn, err)
	}
	return values, nil
}
