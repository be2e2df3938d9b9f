package stacks_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/infra/stacks"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// typedialog-contract (catalog Image: CUE does not fit a zip) is a
// container-image Lambda for arm64, with the environment and grants of any
// other function: its caller may invoke it, it reaches nothing it does not
// need. Every other function stays a zip.
func TestImageFunctions(t *testing.T) {
	s := synth(t, managedCatalog())
	tpl := s.templates["StratumTypedialog"]
	fns := resources(tpl, "AWS::Lambda::Function")
	contract := props(fns[logicalID(t, s, "typedialog-contract")])
	render := props(fns[logicalID(t, s, "typedialog-render")])
	code, _ := contract["Code"].(map[string]any)
	if contract["PackageType"] != "Image" || code["ImageUri"] == nil || code["S3Key"] != nil ||
		fmt.Sprint(contract["Architectures"]) != "[arm64]" || contract["TracingConfig"] == nil || contract["LoggingConfig"] == nil {
		t.Fatalf("typedialog-contract: %v", contract)
	}
	envOf := func(p map[string]any) []string {
		return slices.Sorted(maps.Keys(p["Environment"].(map[string]any)["Variables"].(map[string]any)))
	}
	if got, want := envOf(contract), envOf(render); !slices.Equal(got, want) {
		t.Errorf("typedialog-contract environment %v, typedialog-render's (the same kind) %v", got, want)
	}
	// typedialog-forms may invoke it; typedialog-contract itself gets no
	// database, bus or key grant.
	roles := functionRoles(tpl)
	contractID := logicalID(t, s, "typedialog-contract")
	invoked := false
	for _, st := range statements(s) {
		for _, r := range st.Roles {
			switch roles[r] {
			case "typedialog-forms":
				if hasAction(st, "lambda:InvokeFunction") && strings.Contains(strings.Join(st.Resources, " "), contractID) {
					invoked = true
				}
			case "typedialog-contract":
				if hasAction(st, "kms:") || hasAction(st, "secretsmanager:") || hasAction(st, "lambda:InvokeFunction") {
					t.Errorf("typedialog-contract granted %v on %v", st.Actions, st.Resources)
				}
			}
		}
	}
	if !invoked {
		t.Error("typedialog-forms may not invoke typedialog-contract")
	}
	for _, f := range catalog.Functions {
		if f.Image && f.Name != "typedialog-contract" {
			t.Errorf("%s is an image too: cover it here", f.Name)
		}
	}
	// Every other function, and the deployment's own, stay zips.
	for _, tp := range s.templates {
		for _, fn := range resources(tp, "AWS::Lambda::Function") {
			p := props(fn)
			name, _ := p["FunctionName"].(string)
			if name == stacks.FunctionPrefix+"typedialog-contract" {
				continue
			}
			if p["PackageType"] != nil || props(fn)["Code"].(map[string]any)["S3Key"] == nil {
				t.Errorf("%s is not a zip: %v", name, p["Code"])
			}
		}
	}
}
