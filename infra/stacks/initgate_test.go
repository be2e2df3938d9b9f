package stacks_test

import (
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/infra/stacks"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// gatedVault is vaultLike with vault-sys declaring the init gate, as the
// real catalog does.
func gatedVault(mode string) stacks.Config {
	c := vaultLike()
	fns := append([]catalog.Function(nil), c.Functions...)
	for i := range fns {
		if fns[i].Name == "vault-sys" {
			fns[i].Env = map[string]string{"VAULT_INIT_GATED": ""}
		}
	}
	c.Functions = fns
	c.SelfHosted = mode == "self-hosted"
	c.LocalStack = mode == "localstack"
	return c
}

// In AWS, sys/init is gated (26 item 3): the platform generates the init
// token into stratum/vault-init, vault-sys alone reads it and runs with
// VAULT_INIT_GATED=true. LocalStack, like the devstack, keeps it open.
func TestVaultInitIsGatedInAWS(t *testing.T) {
	for _, mode := range []string{"managed", "self-hosted", "localstack"} {
		t.Run(mode, func(t *testing.T) {
			s := synth(t, gatedVault(mode))
			secretID := ""
			for id, r := range resources(s.templates["StratumPlatform"], "AWS::SecretsManager::Secret") {
				if props(r)["Name"] == "stratum/vault-init" {
					secretID = id
					if gen, _ := props(r)["GenerateSecretString"].(map[string]any); gen["GenerateStringKey"] != "token" {
						t.Errorf("vault-init secret must generate its token: %s", raw(props(r)))
					}
				}
			}
			if (secretID != "") != (mode != "localstack") {
				t.Fatalf("%s: vault-init secret %q", mode, secretID)
			}
			for _, fn := range resources(s.templates["StratumVault"], "AWS::Lambda::Function") {
				name := strings.TrimPrefix(props(fn)["FunctionName"].(string), stacks.FunctionPrefix)
				env := raw(props(fn)["Environment"])
				gated := strings.Contains(env, `"VAULT_INIT_GATED":"true"`) && strings.Contains(env, "VAULT_INIT_SECRET_ARN")
				if want := name == "vault-sys" && mode != "localstack"; gated != want {
					t.Errorf("%s: gated %v, want %v (env %s)", name, gated, want, env)
				}
			}
			if secretID == "" {
				return
			}
			roles := map[string]string{}
			for _, tpl := range s.templates {
				for role, fn := range functionRoles(tpl) {
					roles[role] = fn
				}
			}
			var readers []string
			for _, st := range statements(s) {
				if !hasAction(st, "secretsmanager:GetSecretValue") || !strings.Contains(strings.Join(st.Resources, " "), secretID) {
					continue
				}
				for _, r := range st.Roles {
					readers = append(readers, roles[r])
				}
			}
			if strings.Join(readers, ",") != "vault-sys" {
				t.Errorf("the init token is readable by %v, want vault-sys only", readers)
			}
		})
	}
}
