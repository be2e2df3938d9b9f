package vault

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
)

// Vault's HCL ACL policies, translated to Cedar. A policy is a list of
//
//	path "<pattern>" { capabilities = ["read", "list", ...] }
//
// where a pattern ends in an optional glob * (a string prefix) and may have
// + segments (exactly one segment). For a request, Vault takes the single
// most specific pattern that matches and grants its capabilities (deny
// grants nothing and wins over every other capability of that pattern).
// The translation keeps that within the document: each rule's Cedar policy
// excludes the paths that a more specific pattern of the same document
// matches. A token with several HCL policies is decided as Vault decides
// it: their rules are merged (capabilities of one pattern joined, a deny
// absorbing the rest) and translated as one document (see combinedHCL), so
// a narrower path of any of them decides. Policies written as Cedar join
// that document with Cedar's own rule (any permit, no forbid).

// maxHCLPathBlocks bounds one HCL policy: each rule excludes the more
// specific overlapping patterns, so the translation grows with their square.
const maxHCLPathBlocks = 256

// hclRule is one pattern's capabilities, with every block of that path merged.
type hclRule struct {
	pattern string
	caps    []string
}

// hclCapabilities are the capabilities the translation knows; deny is a forbid.
var hclCapabilities = []string{capCreate, capRead, capUpdate, capPatch, capDelete, capList, capSudo, "deny"}

// hclPolicyShorthand is the old "policy = ..." form of a path block.
var hclPolicyShorthand = map[string][]string{
	"deny":  {"deny"},
	"read":  {capRead, capList},
	"write": {capCreate, capRead, capUpdate, capDelete, capList},
	"sudo":  {capCreate, capRead, capUpdate, capDelete, capList, capSudo},
}

// parseHCLPolicy reads an HCL (or JSON) ACL policy; the error names what is
// wrong or unsupported.
func parseHCLPolicy(text string) ([]hclRule, error) {
	root, err := hcl.Parse(text)
	if err != nil {
		return nil, fmt.Errorf("failed to parse policy: %w", err)
	}
	list, ok := root.Node.(*ast.ObjectList)
	if !ok {
		return nil, fmt.Errorf("failed to parse policy: does not contain a root object")
	}
	if n := len(list.Items); n > maxHCLPathBlocks {
		return nil, fmt.Errorf("policy has %d blocks; at most %d path blocks are supported", n, maxHCLPathBlocks)
	}
	byPattern := map[string]*hclRule{}
	var order []string
	for _, item := range list.Items {
		key := itemKey(item, 0)
		if key == "name" {
			continue // Vault ignores a top-level name
		}
		if key != "path" || len(item.Keys) != 2 {
			return nil, fmt.Errorf("unsupported policy stanza %q: only path \"<pattern>\" { capabilities = [...] } blocks", key)
		}
		pattern := strings.TrimPrefix(itemKey(item, 1), "/")
		if err := checkPattern(pattern); err != nil {
			return nil, err
		}
		caps, err := pathCapabilities(pattern, item)
		if err != nil {
			return nil, err
		}
		r := byPattern[pattern]
		if r == nil {
			r = &hclRule{pattern: pattern}
			byPattern[pattern] = r
			order = append(order, pattern)
		}
		for _, c := range caps {
			if !slices.Contains(r.caps, c) {
				r.caps = append(r.caps, c)
			}
		}
	}
	rules := make([]hclRule, 0, len(order))
	for _, p := range order {
		rules = append(rules, *byPattern[p])
	}
	return rules, nil
}

// mergeHCLRules joins several policies' rules as Vault's ACL does: one rule
// per pattern with the union of its capabilities, where a deny in any of
// them leaves only the deny.
func mergeHCLRules(sets ...[]hclRule) []hclRule {
	index := map[string]int{}
	var out []hclRule
	for _, rules := range sets {
		for _, r := range rules {
			i, ok := index[r.pattern]
			if !ok {
				index[r.pattern] = len(out)
				out = append(out, hclRule{pattern: r.pattern, caps: slices.Clone(r.caps)})
				continue
			}
			switch {
			case slices.Contains(out[i].caps, "deny"):
			case slices.Contains(r.caps, "deny"):
				out[i].caps = []string{"deny"}
			default:
				for _, c := range r.caps {
					if !slices.Contains(out[i].caps, c) {
						out[i].caps = append(out[i].caps, c)
					}
				}
			}
		}
	}
	return out
}

func itemKey(item *ast.ObjectItem, i int) string {
	if i >= len(item.Keys) {
		return ""
	}
	if s, ok := item.Keys[i].Token.Value().(string); ok {
		return s
	}
	return item.Keys[i].Token.Text
}

// checkPattern refuses what Vault refuses or what cannot be matched: a *
// before the end, a + that is not a whole segment, quotes and backslashes.
func checkPattern(p string) error {
	if i := strings.Index(p, "*"); i >= 0 && i != len(p)-1 {
		return fmt.Errorf("path %q: the glob * may only end a path", p)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "*"), "/") {
		if strings.Contains(seg, "+") && seg != "+" {
			return fmt.Errorf("path %q: + must be a whole path segment", p)
		}
	}
	if strings.HasSuffix(p, "+*") {
		return fmt.Errorf("path %q: a + segment cannot end in the glob; write .../+/* or .../*", p)
	}
	if strings.ContainsAny(p, "\"\\\n\r\t") {
		return fmt.Errorf("path %q: quotes, backslashes and control characters are not allowed", p)
	}
	return nil
}

// pathCapabilities reads one path block; stanzas other than capabilities
// (and the old policy shorthand) are refused by name.
func pathCapabilities(pattern string, item *ast.ObjectItem) ([]string, error) {
	obj, ok := item.Val.(*ast.ObjectType)
	if !ok {
		return nil, fmt.Errorf("path %q: expected a block", pattern)
	}
	var caps, unsupported []string
	for _, field := range obj.List.Items {
		switch name := itemKey(field, 0); name {
		case "capabilities":
			var list []string
			if err := hcl.DecodeObject(&list, field.Val); err != nil {
				return nil, fmt.Errorf("path %q: capabilities: %w", pattern, err)
			}
			for _, c := range list {
				c = strings.ToLower(strings.TrimSpace(c))
				if !slices.Contains(hclCapabilities, c) {
					return nil, fmt.Errorf("path %q: unsupported capability %q", pattern, c)
				}
				caps = append(caps, c)
			}
		case "policy":
			var s string
			if err := hcl.DecodeObject(&s, field.Val); err != nil || hclPolicyShorthand[s] == nil {
				return nil, fmt.Errorf("path %q: invalid policy %q: want deny, read, write or sudo", pattern, s)
			}
			caps = append(caps, hclPolicyShorthand[s]...)
		default:
			unsupported = append(unsupported, name)
		}
	}
	if len(unsupported) > 0 {
		sort.Strings(unsupported)
		return nil, fmt.Errorf("path %q: unsupported policy stanzas: %s", pattern, strings.Join(unsupported, ", "))
	}
	return caps, nil
}

// hclPattern is a pattern's parts, for matching and ordering.
type hclPattern struct {
	text          string
	glob          bool
	segments      []string // without the glob
	firstWildcard int      // index of the first + or *, len(text) if none
	plusCount     int
}

func newHCLPattern(p string) hclPattern {
	hp := hclPattern{text: p, glob: strings.HasSuffix(p, "*"), firstWildcard: len(p)}
	hp.segments = strings.Split(strings.TrimSuffix(p, "*"), "/")
	if hp.glob {
		hp.firstWildcard = len(p) - 1
	}
	pos := 0
	for _, s := range hp.segments {
		if s == "+" {
			hp.plusCount++
			hp.firstWildcard = min(hp.firstWildcard, pos)
		}
		pos += len(s) + 1
	}
	return hp
}

func (p hclPattern) exact() bool { return !p.glob && p.plusCount == 0 }

// outranks is Vault's priority: an exact pattern over any other; then the
// later first wildcard, no glob over a glob, fewer + segments, the longer,
// the lexicographically larger.
func (p hclPattern) outranks(q hclPattern) bool {
	switch {
	case p.exact() != q.exact():
		return p.exact()
	case p.firstWildcard != q.firstWildcard:
		return p.firstWildcard > q.firstWildcard
	case p.glob != q.glob:
		return !p.glob
	case p.plusCount != q.plusCount:
		return p.plusCount < q.plusCount
	case len(p.text) != len(q.text):
		return len(p.text) > len(q.text)
	}
	return p.text > q.text
}

// literal is the pattern's text before its first wildcard.
func (p hclPattern) literal() string { return p.text[:p.firstWildcard] }

// matches tells whether path is one of the pattern's paths.
func (p hclPattern) matches(path string) bool {
	segs := strings.Split(path, "/")
	if len(segs) < len(p.segments) || !p.glob && len(segs) != len(p.segments) {
		return false
	}
	for i, s := range p.segments {
		switch {
		case i == len(p.segments)-1 && p.glob:
			return s == "+" || strings.HasPrefix(strings.Join(segs[i:], "/"), s)
		case s != "+" && s != segs[i]:
			return false
		}
	}
	return true
}

// mayOverlap is false when no path can match both patterns; true when
// unsure. A rule need not exclude a more specific pattern it cannot meet,
// which keeps most translations linear in the number of path blocks.
func (p hclPattern) mayOverlap(q hclPattern) bool {
	lp, lq := p.literal(), q.literal()
	switch {
	case !strings.HasPrefix(lp, lq) && !strings.HasPrefix(lq, lp):
		return false
	case p.exact():
		return q.matches(p.text)
	case q.exact():
		return p.matches(q.text)
	case !p.glob && len(p.segments) < len(q.segments), !q.glob && len(q.segments) < len(p.segments),
		!p.glob && !q.glob && len(p.segments) != len(q.segments):
		return false
	}
	for i := range min(len(p.segments), len(q.segments)) {
		a, b := p.segments[i], q.segments[i]
		aGlob := p.glob && i == len(p.segments)-1
		bGlob := q.glob && i == len(q.segments)-1
		switch {
		case a == "+" || b == "+" || a == b:
		case aGlob || bGlob:
			if !strings.HasPrefix(a, b) && !strings.HasPrefix(b, a) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// indexedPath is the path as the Path entity's "indexed" attribute holds
// it: "/0:secret/1:data/2:app/3." for secret/data/app, so that a + can be
// matched as exactly one segment with Cedar's like. Each "/<i>:" and the
// final "/<n>." occur once (a segment has no "/"), so a * between two of
// them spans exactly one segment.
func indexedPath(path string) string {
	var b strings.Builder
	segs := strings.Split(path, "/")
	for i, s := range segs {
		b.WriteString("/" + strconv.Itoa(i) + ":" + s)
	}
	b.WriteString("/" + strconv.Itoa(len(segs)) + ".")
	return b.String()
}

// cedarMatch is the Cedar condition that resource matches p.
func (p hclPattern) cedarMatch() string {
	switch {
	case p.exact():
		return fmt.Sprintf("resource.path == %q", p.text)
	case p.plusCount == 0:
		return fmt.Sprintf("resource.path like %q", p.text)
	}
	var b strings.Builder
	for i, s := range p.segments {
		if s == "+" {
			s = "*"
		}
		b.WriteString("/" + strconv.Itoa(i) + ":" + s)
	}
	if p.glob {
		b.WriteString("*")
	} else {
		b.WriteString("/" + strconv.Itoa(len(p.segments)) + ".")
	}
	return fmt.Sprintf("resource.indexed like %q", b.String())
}

// hclToCedar translates the rules of one policy to a Cedar document.
func hclToCedar(name string, rules []hclRule) string {
	patterns := make([]hclPattern, len(rules))
	for i, r := range rules {
		patterns[i] = newHCLPattern(r.pattern)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "// Translated from the HCL policy %q: one rule per path; a more specific path of this policy decides first.\n", name)
	for i, r := range rules {
		cond := []string{patterns[i].cedarMatch()}
		for j, q := range patterns {
			if j != i && q.outranks(patterns[i]) && q.mayOverlap(patterns[i]) {
				cond = append(cond, "!("+q.cedarMatch()+")")
			}
		}
		when := strings.Join(cond, " &&\n  ")
		fmt.Fprintf(&b, "\n// path %q\n", r.pattern)
		if slices.Contains(r.caps, "deny") {
			fmt.Fprintf(&b, "forbid (principal, action, resource)\nwhen {\n  %s\n};\n", when)
			continue
		}
		if len(r.caps) == 0 {
			continue // it still outranks the less specific paths above
		}
		actions := make([]string, len(r.caps))
		for k, c := range r.caps {
			actions[k] = fmt.Sprintf("Action::%q", c)
		}
		fmt.Fprintf(&b, "permit (principal, action in [%s], resource)\nwhen {\n  %s\n};\n", strings.Join(actions, ", "), when)
	}
	return b.String()
}
