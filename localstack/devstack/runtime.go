package devstack

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stratumiops/stratumiops/localstack/build"
	"github.com/stratumiops/stratumiops/localstack/emulator"
	localkms "github.com/stratumiops/stratumiops/localstack/kms"
	"github.com/stratumiops/stratumiops/localstack/tools"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// apiGatewayMaxBody is API Gateway's request payload limit.
const apiGatewayMaxBody = 10 << 20

// startEmulator builds every function for this machine and prepares a pool of
// runtime-emulator environments per function, with the environment the
// deployed function would have, pointed at this devstack.
func (s *Stack) startEmulator(ctx context.Context) (*emulator.Emulator, error) {
	rie, err := tools.Ensure(ctx, tools.RIE)
	if err != nil {
		return nil, err
	}
	root, err := tools.RepoRoot()
	if err != nil {
		return nil, err
	}
	dist := filepath.Join(s.cfg.DataDir, "dist-native")
	if s.cfg.Memory {
		if dist, err = os.MkdirTemp("", "stratum-dist-"); err != nil {
			return nil, err
		}
		s.tempDirs = append(s.tempDirs, dist)
	}
	if dist, err = filepath.Abs(dist); err != nil {
		return nil, err
	}
	var names []string
	for _, f := range catalog.Functions {
		names = append(names, f.Name)
	}
	if _, err := build.Functions(ctx, root, dist, build.Native(), names, 2); err != nil {
		return nil, err
	}
	base := []string{
		"SURREAL_URL=" + s.endpoints.Surreal,
		"NATS_URL=" + s.endpoints.NATS, "LAMBDA_ENDPOINT=" + s.endpoints.Invoke,
		"AWS_REGION=us-east-1", "AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local",
		"AWS_ENDPOINT_URL_KMS=" + s.endpoints.KMS, "LOG_LEVEL=info",
	}
	if s.cfg.FaultInjection {
		base = append(base, "STRATUM_FAULT_INJECTION=on")
	}
	emu, err := emulator.New(emulator.Config{RIE: rie, DistDir: dist, Log: s.cfg.Log,
		Env: func(f catalog.Function) []string {
			env := append(append([]string(nil), base...), s.functionEnv(f)...)
			services := s.serviceVars(f)
			for k, v := range f.Env {
				if sv, ok := services[k]; ok {
					v = sv
				}
				env = append(env, k+"="+v)
			}
			for k, v := range services { // the called systems' (Calls) settings, which Env does not list
				if _, listed := f.Env[k]; !listed {
					env = append(env, k+"="+v)
				}
			}
			if f.KMS {
				env = append(env, "VAULT_UNSEAL_KEY_ARN="+localkms.UnsealKeyAlias)
			}
			if f.SecretsKey {
				env = append(env, "SECRETS_KMS_KEY="+localkms.UnsealKeyAlias) // local-kms has one key
			}
			if f.Auth {
				for k, v := range authVars() {
					env = append(env, k+"="+v)
				}
			}
			if f.Backups {
				env = append(env, "VAULT_BACKUP_DIR="+s.endpoints.VaultBackupDir)
			}
			// The devstack's own environment overrides catalog defaults, as for in-process functions.
			for k := range f.Env {
				if v := os.Getenv(k); v != "" {
					env = append(env, k+"="+v)
				}
			}
			return env
		}}, catalog.Functions)
	if err != nil {
		return nil, err
	}
	s.emulator = emu
	s.endpoints.LambdaRuntime = true
	return emu, nil
}

// viaInvoke gives each HTTP function a handler that does what API Gateway does:
// turn the request into a payload v2 event, invoke the function, write its response.
func viaInvoke(inv invoke.Invoker, log *slog.Logger) map[string]http.Handler {
	handlers := map[string]http.Handler{}
	for _, f := range catalog.Functions {
		if f.Kind != catalog.HTTP {
			continue
		}
		name := f.Name
		handlers[name] = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ev, err := httpapi.EventFromRequest(r, r.Pattern, httpapi.NewRequestID(), apiGatewayMaxBody)
			if err != nil {
				httpapi.WriteJSONError(w, r, http.StatusRequestEntityTooLarge, "too_large", "request body exceeds API Gateway's 10 MB")
				return
			}
			payload, _ := json.Marshal(ev)
			out, err := inv.Invoke(r.Context(), name, payload)
			var res events.APIGatewayV2HTTPResponse
			if err == nil {
				err = json.Unmarshal(out, &res)
			}
			if err != nil {
				// API Gateway's answer when the integration fails.
				log.Error("integration failed", "function", name, "err", err)
				integrationFailed(w)
				return
			}
			if oversized(log, name, len(out)) {
				integrationFailed(w)
				return
			}
			if err := httpapi.WriteEvent(w, res); err != nil {
				log.Error("write response", "function", name, "err", err)
			}
		})
	}
	return handlers
}

// Emulator is the Lambda runtime emulator of a devstack started with
// LambdaRuntime, nil otherwise.
func (s *Stack) Emulator() *emulator.Emulator { return s.emulator }
