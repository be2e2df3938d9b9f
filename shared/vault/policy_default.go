package vault

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// defaultPolicyHCL is Vault's built-in `default` policy for the paths this
// vault serves: every token gets it unless created with no_default_policy,
// so what an operator adds to it (`policy write default`) every such token
// may do. The -self token operations are allowed to every token here
// whatever its policies (they are listed for `policy read default`).
const defaultPolicyHCL = `# Allow tokens to look up their own properties
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

# Allow tokens to renew themselves
path "auth/token/renew-self" {
    capabilities = ["update"]
}

# Allow tokens to revoke themselves
path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# Allow a token to look up its own capabilities on a path
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# Allow a token to renew a lease via lease_id in the request body
path "sys/leases/renew" {
    capabilities = ["update"]
}

# Allow looking up lease properties. This requires knowing the lease ID ahead
# of time and does not divulge any sensitive information.
path "sys/leases/lookup" {
    capabilities = ["update"]
}
`

// builtinDefault is the default policy's row while nobody has written one.
var builtinDefault = sync.OnceValues(func() (policyRow, error) {
	rules, err := parseHCLPolicy(defaultPolicyHCL)
	if err != nil {
		return policyRow{}, fmt.Errorf("built-in default policy: %w", err)
	}
	return policyRow{Name: "default", HCL: defaultPolicyHCL, Text: hclToCedar("default", rules)}, nil
})

// withDefault adds the built-in default policy to rows when names asks for
// it and none is stored (one written is MAC'd and checked like any other).
func withDefault(names []string, rows []policyRow) ([]policyRow, error) {
	if !slices.Contains(names, "default") || slices.ContainsFunc(rows, func(r policyRow) bool { return r.Name == "default" }) {
		return rows, nil
	}
	row, err := builtinDefault()
	if err != nil {
		return nil, err
	}
	return append(rows, row), nil
}

// tokenPolicies decides a new token's policies as Vault's token store does:
// none asked inherits the parent's; otherwise a parent that is not root may
// only pass on its own; `default` is added (when asked for, when the creator
// is root, or when the parent has it) unless noDefault, and never next to
// root. The list is lower case, sorted and without duplicates.
func tokenPolicies(asked []string, parent *Token, noDefault bool) ([]string, error) {
	policies := sanitizePolicies(asked)
	addDefault := false
	switch {
	case len(policies) == 0:
		policies = sanitizePolicies(parent.Policies)
	case !parent.isRoot():
		for _, p := range policies {
			if !slices.Contains(parent.Policies, p) {
				return nil, badRequest("child policies must be subset of parent policies: %q is not", p)
			}
		}
		addDefault = slices.Contains(parent.Policies, "default")
	default:
		addDefault = true
	}
	if slices.Contains(policies, "root") {
		if !parent.isRoot() {
			return nil, badRequest("root tokens may only be created by a root token")
		}
		return []string{"root"}, nil
	}
	if addDefault && !noDefault && !slices.Contains(policies, "default") {
		policies = append(policies, "default")
	}
	if noDefault {
		policies = slices.DeleteFunc(policies, func(p string) bool { return p == "default" })
	}
	slices.Sort(policies)
	return policies, nil
}

// sanitizePolicies trims and lower-cases names and drops empty and repeated
// ones; a list with root is root alone.
func sanitizePolicies(in []string) (out []string) {
	for _, p := range in {
		p = strings.ToLower(strings.TrimSpace(p))
		if p == "root" {
			return []string{"root"}
		}
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}
