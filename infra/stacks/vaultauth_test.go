package stacks_test

import (
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/infra/stacks"
)

// A function that reads the vault (VAULT_ADDR in its environment) gets a
// secret of its own for its AppRole or token, and only it may read it;
// functions that do not read the vault get none.
func TestVaultReadersGetTheirOwnAuthSecret(t *testing.T) {
	cfg := vaultLike()
	for i := range cfg.Functions {
		if cfg.Functions[i].Name == "portfolio-executions" {
			cfg.Functions[i].Env = map[string]string{"VAULT_ADDR": ""}
		}
	}
	s := synth(t, cfg)
	secretID := ""
	for id, r := range resources(s.templates["StratumPlatform"], "AWS::SecretsManager::Secret") {
		name, _ := props(r)["Name"].(string)
		if strings.Contains(name, "vault-auth") {
			if name != "stratum/vault-auth-portfolio-executions" || secretID != "" {
				t.Fatalf("vault-auth secret %q (already found %q)", name, secretID)
			}
			secretID = id
		}
	}
	if secretID == "" {
		t.Fatal("no vault-auth secret for portfolio-executions")
	}
	for name, tpl := range s.templates {
		for _, fn := range resources(tpl, "AWS::Lambda::Function") {
			fname, _ := props(fn)["FunctionName"].(string)
			has := strings.Contains(raw(props(fn)["Environment"]), "VAULT_AUTH_SECRET_ARN")
			if want := strings.TrimPrefix(fname, stacks.FunctionPrefix) == "portfolio-executions"; has != want {
				t.Errorf("%s/%s: VAULT_AUTH_SECRET_ARN %v, want %v", name, fname, has, want)
			}
		}
	}
	roles := map[string]string{}
	for _, tpl := range s.templates {
		for role, fn := range functionRoles(tpl) {
			roles[role] = fn
		}
	}
	var readers []string
	for _, st := range statements(s) {
		if hasAction(st, "secretsmanager:GetSecretValue") && strings.Contains(strings.Join(st.Resources, " "), secretID) {
			for _, r := range st.Roles {
				readers = append(readers, roles[r])
			}
		}
	}
	if strings.Join(readers, ",") != "portfolio-executions" {
		t.Errorf("the vault-auth secret is readable by %v, want portfolio-executions only", readers)
	}
}
