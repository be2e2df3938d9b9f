package stacks_test

import (
	"encoding/json"
	"testing"

	"github.com/stratumiops/stratumiops/infra/stacks"
)

// lambdaEnvLimit is Lambda's limit on a function's environment: 4 KB for
// every key and value together.
const lambdaEnvLimit = 4096

// tokenBytes stands for a value CloudFormation fills in at deploy time (a
// secret's or a function's ARN, a URL): about what such an ARN takes.
const tokenBytes = 110

// Every Lambda of the full catalog, in both modes, keeps its environment
// under Lambda's 4 KB once CloudFormation has filled in the ARNs (a
// template can synthesize fine and fail only at deploy).
func TestLambdaEnvironmentsFitLambdasLimit(t *testing.T) {
	for name, cfg := range map[string]stacks.Config{
		"managed":     managedCatalog(),
		"self-hosted": func() stacks.Config { c := managedCatalog(); c.SelfHosted = true; return c }(),
	} {
		s := synth(t, cfg)
		for stack, tpl := range s.templates {
			for id, fn := range resources(tpl, "AWS::Lambda::Function") {
				env, _ := props(fn)["Environment"].(map[string]any)
				vars, _ := env["Variables"].(map[string]any)
				if size := envBytes(t, vars); size > lambdaEnvLimit {
					t.Errorf("%s: %s/%s: environment of about %d bytes, over Lambda's %d", name, stack, id, size, lambdaEnvLimit)
				}
			}
		}
	}
}

// envBytes estimates the deployed size of vars: strings as they are, each
// CloudFormation intrinsic as tokenBytes, Fn::Join as its parts.
func envBytes(t *testing.T, vars map[string]any) int {
	n := 0
	for k, v := range vars {
		n += len(k) + valueBytes(t, v)
	}
	return n
}

func valueBytes(t *testing.T, v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case map[string]any:
		if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
			parts, _ := join[1].([]any)
			n := 0
			for _, p := range parts {
				n += valueBytes(t, p)
			}
			return n
		}
		return tokenBytes
	default:
		raw, _ := json.Marshal(v)
		return len(raw)
	}
}
