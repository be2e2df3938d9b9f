package stacks_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/infra/stacks"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// Each function that uses SurrealDB reads its own user's secret and no
// other: never root's, never another function's (issue 16, item 4).
func TestFunctionsGetOnlyTheirOwnSurrealUser(t *testing.T) {
	if !slices.Contains(catalog.InfraFunctions, stacks.SurrealUsersFunction) {
		t.Fatalf("%s is not among catalog.InfraFunctions: make build would not build it", stacks.SurrealUsersFunction)
	}
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
			var all []string // the custom resource reads root's and every function's
			for _, f := range variant.cfg.Functions {
				want := ""
				if f.Database != "" {
					want = "surreal/" + f.Name
					all = append(all, want)
				}
				if strings.Join(got[f.Name], ",") != want {
					t.Errorf("%s may read SurrealDB secrets %v, want only %q", f.Name, got[f.Name], want)
				}
			}
			definer := got[stacks.SurrealUsersFunction]
			slices.Sort(definer)
			want := append([]string{"surreal"}, all...)
			slices.Sort(want)
			if !slices.Equal(definer, want) {
				t.Errorf("%s may read %v, want %v", stacks.SurrealUsersFunction, definer, want)
			}
			checkSurrealUsersResource(t, s, variant.cfg)
		})
	}
}

// The platform stack runs the surreal-users Lambda as a custom resource
// with every function's user, database and secret; self-hosted, inside the
// VPC and after the SurrealDB service.
func checkSurrealUsersResource(t *testing.T, s synthesized, cfg stacks.Config) {
	t.Helper()
	platform := s.templates["StratumPlatform"]
	crs := resources(platform, "Custom::SurrealUsers")
	if len(crs) != 1 {
		t.Fatalf("want one Custom::SurrealUsers in the platform stack, got %d", len(crs))
	}
	var fnID string
	for id, fn := range resources(platform, "AWS::Lambda::Function") {
		if props(fn)["FunctionName"] == stacks.FunctionPrefix+stacks.SurrealUsersFunction {
			fnID = id
			if cfg.SelfHosted != (props(fn)["VpcConfig"] != nil) {
				t.Errorf("surreal-users VpcConfig: %v (self-hosted %v)", props(fn)["VpcConfig"], cfg.SelfHosted)
			}
		}
	}
	for _, cr := range crs {
		p := props(cr)
		if !strings.Contains(raw(p["ServiceToken"]), fnID) || fnID == "" {
			t.Errorf("custom resource's ServiceToken %s is not the surreal-users function %q", raw(p["ServiceToken"]), fnID)
		}
		users := raw(p["Users"])
		for _, f := range cfg.Functions {
			if f.Database != "" && (!strings.Contains(users, f.SurrealUser()) || !strings.Contains(users, f.Database)) {
				t.Errorf("custom resource's users lack %s (%s on %s): %s", f.Name, f.SurrealUser(), f.Database, users)
			}
		}
		if deps := raw(cr["DependsOn"]); cfg.SelfHosted != strings.Contains(deps, "surrealdbservice") {
			t.Errorf("custom resource DependsOn %s (self-hosted %v): want the SurrealDB service exactly when self-hosted", deps, cfg.SelfHosted)
		}
	}
}
