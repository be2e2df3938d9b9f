package stacks_test

import (
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/infra/stacks"
)

// Each function that uses SurrealDB reads its own user's secret and no
// other: never root's, never another function's (issue 16, item 4).
func TestFunctionsGetOnlyTheirOwnSurrealUser(t *testing.T) {
	for _, variant := range []struct {
		name string
		cfg  stacks.Config
	}{{"managed", vaultLike()}, {"self-hosted", func() stacks.Config { c := vaultLike(); c.SelfHosted = true; return c }()}} {
		t.Run(variant.name, func(t *testing.T) {
			s := synth(t, variant.cfg)
			// Secrets by logical id → their name's last part after "stratum/".
			secrets := map[string]string{}
			for _, tpl := range s.templates {
				for id, r := range resources(tpl, "AWS::SecretsManager::Secret") {
					name, _ := props(r)["Name"].(string)
					secrets[id] = strings.TrimPrefix(name, "stratum/")
				}
			}
			roles := map[string]string{}
			for _, tpl := range s.templates {
				for role, fn := range functionRoles(tpl) {
					roles[role] = fn
				}
			}
			got := map[string][]string{} // function → surreal secrets it may read
			for _, st := range statements(s) {
				if !hasAction(st, "secretsmanager:GetSecretValue") {
					continue
				}
				for _, role := range st.Roles {
					fn, ok := roles[role]
					if !ok {
						continue
					}
					for _, res := range st.Resources {
						for id, name := range secrets {
							if strings.Contains(res, id) && (name == "surreal" || strings.HasPrefix(name, "surreal/")) {
								got[fn] = append(got[fn], name)
							}
						}
					}
				}
			}
			for _, f := range variant.cfg.Functions {
				want := ""
				if f.Database != "" {
					want = "surreal/" + f.Name
				}
				if strings.Join(got[f.Name], ",") != want {
					t.Errorf("%s may read SurrealDB secrets %v, want only %q", f.Name, got[f.Name], want)
				}
			}
		})
	}
}
