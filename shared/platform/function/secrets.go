package function

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
)

// Deployed functions get SurrealDB and NATS settings from Secrets Manager:
// SURREAL_SECRET_ARN names a JSON secret {"url","user","pass"} and
// NATS_SECRET_ARN one {"url", "creds" (a .creds file's content), "token"}, API_AUTH_SECRET_ARN one {"jwt_secret","api_keys"}. resolveSecrets copies them into the plain
// variables (SURREAL_URL, …) that the adapters read, unless those are set.
// Secrets Manager is AWS_ENDPOINT_URL_SECRETS_MANAGER or AWS_ENDPOINT_URL when
// set (LocalStack), else the region's.
func resolveSecrets(ctx context.Context) error {
	specs := []struct {
		arnVar string
		fields map[string]string // JSON field → variable
	}{
		{"SURREAL_SECRET_ARN", map[string]string{"url": "SURREAL_URL", "user": "SURREAL_USER", "pass": "SURREAL_PASS"}},
		{"NATS_SECRET_ARN", map[string]string{"url": "NATS_URL", "creds": "NATS_CREDS", "token": "NATS_TOKEN"}},
		{"API_AUTH_SECRET_ARN", map[string]string{"jwt_secret": "API_JWT_SECRET", "api_keys": "API_KEYS"}},
	}
	var client *awscfg.Service
	for _, spec := range specs {
		arn := os.Getenv(spec.arnVar)
		if arn == "" {
			continue
		}
		if client == nil {
			cfg, err := awscfg.Load(ctx, "")
			if err != nil {
				return err
			}
			client = awscfg.SecretsManager(cfg)
		}
		var out struct {
			SecretString string
		}
		if err := client.Call(ctx, "GetSecretValue", map[string]string{"SecretId": arn}, &out); err != nil {
			return fmt.Errorf("read secret %s (%s): %w", spec.arnVar, arn, err)
		}
		var values map[string]string
		if err := json.Unmarshal([]byte(out.SecretString), &values); err != nil {
			return fmt.Errorf("secret %s is not a JSON object of strings: %w", spec.arnVar, err)
		}
		for field, envVar := range spec.fields {
			if os.Getenv(envVar) == "" && values[field] != "" {
				if err := os.Setenv(envVar, values[field]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
