package vault

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/shared/platform/authz"
)

// hclEngine translates an HCL policy and returns a decision function over
// the Cedar it became, evaluated as the vault evaluates requests.
func hclEngine(t *testing.T, text string) func(path, capability string) bool {
	t.Helper()
	p, err := newPolicies(nil)
	if err != nil {
		t.Fatal(err)
	}
	rules, err := parseHCLPolicy(text)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := p.parse("p", hclToCedar("p", rules))
	if err != nil {
		t.Fatalf("translation does not validate: %v\n%s", err, hclToCedar("p", rules))
	}
	return docDecides(t, doc)
}

// docDecides evaluates a Cedar document as the vault evaluates requests.
func docDecides(t *testing.T, doc *authz.Document) func(path, capability string) bool {
	t.Helper()
	engine, err := authz.NewEngine("vault", doc)
	if err != nil {
		t.Fatal(err)
	}
	tok := cedar.NewEntityUID("Token", "acc")
	return func(path, capability string) bool {
		res := cedar.NewEntityUID("Path", cedar.String(path))
		return engine.Authorize(context.Background(), authz.Request{
			Principal: tok, Action: cedar.NewEntityUID("Action", cedar.String(capability)), Resource: res,
			Context: cedar.NewRecord(cedar.RecordMap{"hour": cedar.Long(12), "weekday": cedar.Long(3), "remote_addr": cedar.String("")}),
			Entities: cedar.EntityMap{
				tok: {UID: tok, Attributes: cedar.NewRecord(cedar.RecordMap{"display_name": cedar.String("t"), "policies": cedar.NewSet()})},
				res: {UID: res, Attributes: cedar.NewRecord(cedar.RecordMap{"path": cedar.String(path),
					"mount": cedar.String("secret/"), "indexed": cedar.String(indexedPath(path))})},
			},
		}).Allowed
	}
}

// Vault's documented example policy (developer.hashicorp.com/vault/docs/concepts/policies),
// without its allowed_parameters block, and the decisions the page states for it.
const vaultDocsPolicy = `
path "secret/foo" {
  capabilities = ["read"]
}
path "secret/bar/*" {
  capabilities = ["create", "read", "update", "patch"]
}
# This section grants all access on "secret/*". Further restrictions can be
# applied to this broad policy, as shown below.
path "secret/*" {
  capabilities = ["create", "read", "update", "patch", "delete", "list"]
}
# Even though we allowed secret/*, this line explicitly denies
# secret/super-secret. This takes precedence.
path "secret/super-secret" {
  capabilities = ["deny"]
}
path "auth/token/lookup-self" {
  policy = "read"
}
`

func TestHCLPolicyVaultDocsExample(t *testing.T) {
	allowed := hclEngine(t, vaultDocsPolicy)
	for _, c := range []struct {
		path, capability string
		want             bool
	}{
		{"secret/foo", "read", true},
		{"secret/foo", "update", false}, // the exact path decides, not secret/*
		{"secret/foo", "delete", false},
		{"secret/bar/zip", "update", true},
		{"secret/bar/zip", "delete", false}, // secret/bar/* is more specific than secret/*
		{"secret/bar/zip", "list", false},
		{"secret/other", "delete", true},
		{"secret/other/deep", "list", true},
		{"secret/super-secret", "read", false},
		{"secret/super-secret", "update", false},
		{"secret/super-secret/child", "read", true}, // the deny is on the exact path only
		{"secret", "read", false},
		{"auth/token/lookup-self", "read", true},
		{"auth/token/lookup-self", "list", true}, // policy = "read" is read and list
		{"auth/token/lookup-self", "update", false},
		{"sys/mounts", "read", false}, // deny by default
	} {
		if got := allowed(c.path, c.capability); got != c.want {
			t.Errorf("%s on %s: allowed=%v, Vault says %v", c.capability, c.path, got, c.want)
		}
	}
}

// The glob and + examples of Vault's policy page.
func TestHCLPolicyWildcards(t *testing.T) {
	allowed := hclEngine(t, `
path "secret/foo*" { capabilities = ["read"] }
path "secret/+/teamb" { capabilities = ["update"] }
path "secret/+/+/teamc" { capabilities = ["list"] }
path "kv/+/teamd/*" { capabilities = ["create"] }
`)
	for _, c := range []struct {
		path, capability string
		want             bool
	}{
		{"secret/foo", "read", true},
		{"secret/food", "read", true},
		{"secret/foo/bar", "read", true},
		{"secret/fo", "read", false},
		{"secret/x/teamb", "update", true},
		{"secret/x/y/teamb", "update", false}, // + is one segment
		{"secret/teamb", "update", false},
		{"secret/x/y/teamc", "list", true},
		{"secret/x/teamc", "list", false},
		{"kv/a/teamd/b/c", "create", true},
		{"kv/a/b/teamd/c", "create", false},
		{"kv/a/teamd", "create", false},
	} {
		if got := allowed(c.path, c.capability); got != c.want {
			t.Errorf("%s on %s: allowed=%v, Vault says %v", c.capability, c.path, got, c.want)
		}
	}
}

// Vault's priority rules, each with a pair of patterns that both match.
func TestHCLPolicyPriority(t *testing.T) {
	for _, c := range []struct{ high, low, path string }{
		{"secret/a/b", "secret/a/*", "secret/a/b"},       // exact first
		{"secret/a/+", "secret/+/b", "secret/a/b"},       // 1: the first wildcard later
		{"secret/a/b", "secret/a/b*", "secret/a/b"},      // exact over glob
		{"secret/+/b/c", "secret/+/b*", "secret/a/b/c"},  // 2: no glob over a glob
		{"secret/+/b/+", "secret/+/+/c", "secret/a/b/c"}, // 1 again: the second wildcard does not count
		{"secret/a/b*", "secret/a/*", "secret/a/bc"},     // 4: the longer
	} {
		allowed := hclEngine(t, fmt.Sprintf(`path %q { capabilities = ["read"] }
path %q { capabilities = ["deny"] }`, c.high, c.low))
		if !allowed(c.path, "read") {
			t.Errorf("%s should outrank %s on %s", c.high, c.low, c.path)
		}
		allowed = hclEngine(t, fmt.Sprintf(`path %q { capabilities = ["deny"] }
path %q { capabilities = ["read"] }`, c.high, c.low))
		if allowed(c.path, "read") {
			t.Errorf("deny on %s should outrank read on %s on %s", c.high, c.low, c.path)
		}
	}
}

// vaultDecides is Vault's decision written directly: the most specific
// matching pattern's capabilities, segment by segment.
func vaultDecides(rules []hclRule, path, capability string) bool {
	var best *hclPattern
	var caps []string
	for _, r := range rules {
		p := newHCLPattern(r.pattern)
		if !vaultMatches(p, path) || (best != nil && !p.outranks(*best)) {
			continue
		}
		best, caps = &p, r.caps
	}
	return best != nil && !contains(caps, "deny") && contains(caps, capability)
}

func vaultMatches(p hclPattern, path string) bool {
	segs := strings.Split(path, "/")
	if !p.glob && len(segs) != len(p.segments) || p.glob && len(segs) < len(p.segments) {
		return false
	}
	for i, s := range p.segments {
		last := i == len(p.segments)-1
		switch {
		case s == "+" && !(last && p.glob):
		case last && p.glob:
			return strings.HasPrefix(strings.Join(segs[i:], "/"), s)
		case segs[i] != s:
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Random policies and paths: the Cedar translation decides as Vault's rules.
func TestHCLPolicyMatchesVaultRules(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	segs := []string{"a", "b", "ab", "+"}
	caps := [][]string{{"read"}, {"read", "list"}, {"deny"}, {}, {"update"}}
	pattern := func() string {
		n := 1 + rng.IntN(3)
		parts := []string{"secret"}
		for range n {
			parts = append(parts, segs[rng.IntN(len(segs))])
		}
		p := strings.Join(parts, "/")
		switch glob := []string{"*", "/*"}[rng.IntN(2)]; {
		case rng.IntN(2) == 0:
		case strings.HasSuffix(p, "+"):
			p += "/*" // "+*" is refused
		default:
			p += glob
		}
		return p
	}
	for round := range 200 {
		var b strings.Builder
		for range 1 + rng.IntN(5) {
			c := caps[rng.IntN(len(caps))]
			fmt.Fprintf(&b, "path %q { capabilities = [%s] }\n", pattern(), quoteAll(c))
		}
		rules, err := parseHCLPolicy(b.String())
		if err != nil {
			t.Fatalf("%v\n%s", err, b.String())
		}
		allowed := hclEngine(t, b.String())
		for range 30 {
			var parts []string
			for range 1 + rng.IntN(4) {
				parts = append(parts, []string{"a", "b", "ab", "abc", "x"}[rng.IntN(5)])
			}
			path := "secret/" + strings.Join(parts, "/")
			for _, c := range []string{"read", "list", "update"} {
				if got, want := allowed(path, c), vaultDecides(rules, path, c); got != want {
					t.Fatalf("round %d: %s on %s: cedar %v, vault %v\npolicy:\n%s", round, c, path, got, want, b.String())
				}
			}
		}
	}
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

func TestHCLPolicyRefusals(t *testing.T) {
	for text, want := range map[string]string{
		`path "secret/restricted" { capabilities = ["create"]
  allowed_parameters = { "foo" = [] } }`: "unsupported policy stanzas: allowed_parameters",
		`path "a" { capabilities = ["read"]
  min_wrapping_ttl = "1s"
  required_parameters = ["x"] }`: "min_wrapping_ttl, required_parameters",
		`path "a" { capabilities = ["subscribe"] }`: `unsupported capability "subscribe"`,
		`path "a/*/b" { capabilities = ["read"] }`:  "may only end a path",
		`path "a/b+" { capabilities = ["read"] }`:   "whole path segment",
		`path "a/+*" { capabilities = ["read"] }`:   "cannot end in the glob",
		`key "a" { policy = "read" }`:               `unsupported policy stanza "key"`,
		`path "a" { capabilities = `:                "failed to parse policy",
	} {
		_, err := parseHCLPolicy(text)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error with %q", text, err, want)
		}
	}
}

// vaultACL is Vault's ACL over several policies written out as OpenBao's
// vault/policy/acl.go builds and consults it: exact, prefix (trailing *) and
// segment-wildcard (+) rules kept apart, a pattern's capabilities joined
// across policies with a deny absorbing the rest; a request takes the exact
// rule, else the longest prefix rule, else the highest-priority candidate of
// the prefix and + rules.
type vaultACL struct {
	exact, prefix, segment map[string][]string
}

func newVaultACL(policies ...[]hclRule) vaultACL {
	a := vaultACL{exact: map[string][]string{}, prefix: map[string][]string{}, segment: map[string][]string{}}
	for _, rules := range policies {
		for _, r := range rules {
			tree, key := a.exact, r.pattern
			switch {
			case strings.Contains(r.pattern, "+"):
				tree = a.segment
			case strings.HasSuffix(r.pattern, "*"):
				tree, key = a.prefix, strings.TrimSuffix(r.pattern, "*")
			}
			old, ok := tree[key]
			switch {
			case !ok:
				tree[key] = append([]string{}, r.caps...)
			case contains(old, "deny"):
			case contains(r.caps, "deny"):
				tree[key] = []string{"deny"}
			default:
				tree[key] = append(old, r.caps...)
			}
		}
	}
	return a
}

type vaultCandidate struct {
	first, wildcards int
	isPrefix         bool
	path             string
	caps             []string
}

// lower is acl.go's priority order: is c below d?
func (c vaultCandidate) lower(d vaultCandidate) bool {
	switch {
	case c.first != d.first:
		return c.first < d.first
	case c.isPrefix != d.isPrefix:
		return c.isPrefix
	case c.wildcards != d.wildcards:
		return c.wildcards > d.wildcards
	case len(c.path) != len(d.path):
		return len(c.path) < len(d.path)
	}
	return c.path < d.path
}

func (a vaultACL) allows(path, capability string) bool {
	caps, ok := a.exact[path]
	if !ok {
		var best *vaultCandidate
		longest := -1
		for prefix, pc := range a.prefix {
			if strings.HasPrefix(path, prefix) && len(prefix) > longest {
				longest = len(prefix)
				best = &vaultCandidate{first: len(prefix), isPrefix: true, path: prefix, caps: pc}
			}
		}
		parts := strings.Split(path, "/")
	next:
		for full, pc := range a.segment {
			c := vaultCandidate{first: strings.Index(full, "+"), path: strings.TrimSuffix(full, "*"), caps: pc}
			c.isPrefix = c.path != full
			wc := strings.Split(c.path, "/")
			if len(parts) < len(wc) || !c.isPrefix && len(wc) != len(parts) {
				continue
			}
			for i, w := range wc {
				switch {
				case w == "+":
					c.wildcards++
				case w == parts[i]:
				case c.isPrefix && i == len(wc)-1 && strings.HasPrefix(parts[i], w):
				default:
					continue next
				}
			}
			if best == nil || best.lower(c) {
				best = &c
			}
		}
		if best == nil {
			return false
		}
		caps = best.caps
	}
	return !contains(caps, "deny") && contains(caps, capability)
}

// Random sets of policies on one token: the vault decides as Vault's ACL,
// so a narrower path in a second policy narrows (or widens) the first.
func TestHCLPoliciesTogetherMatchVaultACL(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	segs := []string{"a", "b", "ab", "+"}
	caps := [][]string{{"read"}, {"read", "list"}, {"deny"}, {}, {"update"}, {"list"}}
	pattern := func() string {
		parts := []string{"secret"}
		for range 1 + rng.IntN(3) {
			parts = append(parts, segs[rng.IntN(len(segs))])
		}
		p := strings.Join(parts, "/")
		switch rng.IntN(3) {
		case 0:
		case 1:
			if !strings.HasSuffix(p, "+") {
				p += "*"
				break
			}
			fallthrough
		default:
			p += "/*"
		}
		return p
	}
	p, err := newPolicies(nil)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 150 {
		var rows []policyRow
		var sets [][]hclRule
		for i := range 2 + rng.IntN(2) {
			var b strings.Builder
			for range 1 + rng.IntN(4) {
				fmt.Fprintf(&b, "path %q { capabilities = [%s] }\n", pattern(), quoteAll(caps[rng.IntN(len(caps))]))
			}
			rules, err := parseHCLPolicy(b.String())
			if err != nil {
				t.Fatalf("%v\n%s", err, b.String())
			}
			rows = append(rows, policyRow{Name: fmt.Sprintf("p%d", i), HCL: b.String()})
			sets = append(sets, rules)
		}
		doc, err := p.combinedHCL(rows)
		if err != nil {
			t.Fatal(err)
		}
		allowed := docDecides(t, doc)
		acl := newVaultACL(sets...)
		for range 30 {
			var parts []string
			for range 1 + rng.IntN(4) {
				parts = append(parts, []string{"a", "b", "ab", "abc", "x"}[rng.IntN(5)])
			}
			path := "secret/" + strings.Join(parts, "/")
			for _, c := range []string{"read", "list", "update"} {
				if got, want := allowed(path, c), acl.allows(path, c); got != want {
					var all strings.Builder
					for _, r := range rows {
						fmt.Fprintf(&all, "# %s\n%s", r.Name, r.HCL)
					}
					t.Fatalf("round %d: %s on %s: vault here %v, Vault's ACL %v\npolicies:\n%s", round, c, path, got, want, all.String())
				}
			}
		}
	}
}

// A second policy's narrower path narrows the first's broad grant, and a
// deny under a broad path of one policy yields to a more specific grant.
func TestHCLPoliciesTogetherMostSpecificWins(t *testing.T) {
	p, err := newPolicies(nil)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := p.combinedHCL([]policyRow{
		{Name: "broad", HCL: `path "secret/*" { capabilities = ["read", "update"] }
path "kv/*" { capabilities = ["deny"] }`},
		{Name: "narrow", HCL: `path "secret/app/*" { capabilities = ["read"] }
path "kv/open" { capabilities = ["read"] }`},
	})
	if err != nil {
		t.Fatal(err)
	}
	allowed := docDecides(t, doc)
	for _, c := range []struct {
		path, capability string
		want             bool
	}{
		{"secret/other", "update", true},
		{"secret/app/db", "read", true},
		{"secret/app/db", "update", false}, // narrowed by the second policy
		{"kv/open", "read", true},          // the exact path outranks the deny glob
		{"kv/closed", "read", false},
	} {
		if got := allowed(c.path, c.capability); got != c.want {
			t.Errorf("%s on %s: %v, want %v", c.capability, c.path, got, c.want)
		}
	}
}

// A policy of more path blocks than the cap is refused by name.
func TestHCLPolicyPathBlockCap(t *testing.T) {
	var b strings.Builder
	for i := range maxHCLPathBlocks + 1 {
		fmt.Fprintf(&b, "path \"secret/p%d\" { capabilities = [\"read\"] }\n", i)
	}
	if _, err := parseHCLPolicy(b.String()); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("at most %d path blocks", maxHCLPathBlocks)) {
		t.Fatalf("%d blocks: %v, want the cap named", maxHCLPathBlocks+1, err)
	}
}
