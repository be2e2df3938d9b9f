package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/integrity"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// Capabilities are Vault's, used as Cedar actions.
const (
	capRead   = "read"
	capCreate = "create"
	capUpdate = "update"
	capPatch  = "patch"
	capDelete = "delete"
	capList   = "list"
	capSudo   = "sudo"
)

var policyName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$`)

// policies stores named Cedar documents and decides requests with them.
type policies struct {
	keys      *integrity.Keys // MACs policy records
	db        *surreal.Client
	validator *validate.Validator

	mu    sync.Mutex
	cache map[string]cachedDoc // by name; reparsed when the text changes
	// recent keeps the documents of a set of names for storage.ReadTTL.
	recent storage.Recent[string, []*authz.Document]
}

type cachedDoc struct {
	text string
	doc  *authz.Document
}

func newPolicies(db *surreal.Client) (*policies, error) {
	raw, err := schemas.Cedar.ReadFile("cedar/vault/schema.cedarschema")
	if err != nil {
		return nil, fmt.Errorf("vault cedar schema: %w", err)
	}
	v, err := authz.NewValidator(raw)
	if err != nil {
		return nil, fmt.Errorf("vault cedar schema: %w", err)
	}
	return &policies{db: db, validator: v, cache: map[string]cachedDoc{}}, nil
}

type policyRow struct {
	Name string `json:"name"`
	Text string `json:"text"`
	HCL  string `json:"hcl,omitempty"` // the HCL it was written in, if it was (Text is then its Cedar)
	MAC  string `json:"mac,omitempty"` // see policy_mac.go
	Gen  int    `json:"gen,omitempty"` // the policy's generation (policy_mac.go)
}

func policyID(name string) any { return recordID("policies", name) }

// parse validates a document against the vault schema; the error names the problem.
func (p *policies) parse(name, text string) (*authz.Document, error) {
	return authz.ParseDocument(name, []byte(text), p.validator)
}

func (p *policies) put(ctx context.Context, name, text string) error {
	name = strings.ToLower(name) // as Vault, and as tokens carry them
	if name == "root" {
		return badRequest("cannot update the %q policy", name)
	}
	if !policyName.MatchString(name) {
		return badRequest("invalid policy name %q", name)
	}
	if strings.TrimSpace(text) == "" {
		return badRequest("'policy' parameter not supplied or empty")
	}
	if _, err := p.parse(name, text); err != nil {
		return badRequest("failed to parse policy: %v", err)
	}
	return p.store(ctx, name, text, "")
}

// store writes a policy's Cedar text and, for one written in HCL, the HCL.
func (p *policies) store(ctx context.Context, name, text, hclText string) error {
	defer p.recent.Clear()
	return p.write(ctx, name, &policyRow{Name: name, Text: text, HCL: hclText})
}

func (p *policies) get(ctx context.Context, name string) (*policyRow, error) {
	name = strings.ToLower(name) // as Vault, and as tokens carry them
	rows, err := p.readChecked(ctx, []string{name})
	if err != nil || len(rows) == 0 {
		return nil, err
	}
	return &rows[0], nil
}

func (p *policies) list(ctx context.Context) ([]string, error) {
	names, err := surreal.Query[[]string](ctx, p.db, "SELECT VALUE name FROM policies ORDER BY name", nil)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	if !slices.Contains(names, "default") {
		names = append(names, "default")
		slices.Sort(names)
	}
	return append(names, "root"), nil
}

func (p *policies) delete(ctx context.Context, name string) error {
	name = strings.ToLower(name) // as Vault, and as tokens carry them
	switch name {
	case "root":
		return badRequest("cannot delete %q policy", name)
	case "default":
		return badRequest("cannot delete default policy")
	}
	defer p.recent.Clear()
	return p.write(ctx, name, nil)
}

// documents returns the parsed documents of the named policies that exist,
// as read within storage.ReadTTL.
func (p *policies) documents(ctx context.Context, names []string) ([]*authz.Document, error) {
	key := strings.Join(names, "\x00")
	if docs, ok := p.recent.Get(key); ok {
		return docs, nil
	}
	docs, err := p.read(ctx, names)
	if err == nil {
		p.recent.Put(key, docs)
	}
	return docs, err
}

func (p *policies) read(ctx context.Context, names []string) ([]*authz.Document, error) {
	rows, err := p.readChecked(ctx, names)
	slices.SortFunc(rows, func(a, b policyRow) int { return strings.Compare(a.Name, b.Name) }) // HCL policies combine in name order
	if err != nil {
		return nil, err
	}
	var hclRows []policyRow
	var docs []*authz.Document
	for _, r := range rows {
		if r.HCL != "" {
			hclRows = append(hclRows, r)
			continue
		}
		doc, err := p.cached(r.Name, r.Text, func() (string, error) { return r.Text, nil })
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	switch len(hclRows) {
	case 0:
	case 1:
		doc, err := p.cached(hclRows[0].Name, hclRows[0].Text, func() (string, error) { return hclRows[0].Text, nil })
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	default:
		doc, err := p.combinedHCL(hclRows)
		if err != nil {
			return nil, err
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// cached parses the Cedar text that translate gives for key, once per text.
func (p *policies) cached(key, text string, translate func() (string, error)) (*authz.Document, error) {
	p.mu.Lock()
	c, ok := p.cache[key]
	p.mu.Unlock()
	if ok && c.text == text {
		return c.doc, nil
	}
	cedarText, err := translate()
	if err != nil {
		return nil, err
	}
	doc, err := p.parse(key, cedarText)
	if err != nil {
		return nil, fmt.Errorf("stored policy %q: %w", key, err)
	}
	p.mu.Lock()
	p.cache[key] = cachedDoc{text: text, doc: doc}
	p.mu.Unlock()
	return doc, nil
}

// hclRules are the named policies' HCL rules merged as Vault merges them;
// cedar says whether one of them was written as Cedar (and has none).
func (p *policies) hclRules(ctx context.Context, names []string) (rules []hclRule, cedar bool, err error) {
	rows, err := p.readChecked(ctx, names)
	if err != nil {
		return nil, false, err
	}
	var sets [][]hclRule
	for i := range rows {
		if rows[i].HCL == "" {
			cedar = true
			continue
		}
		rules, err := parseHCLPolicy(rows[i].HCL)
		if err != nil {
			return nil, false, fmt.Errorf("stored policy %q: %w", rows[i].Name, err)
		}
		sets = append(sets, rules)
	}
	return mergeHCLRules(sets...), cedar, nil
}

// combinedHCL is the one Cedar document of several HCL policies, decided as
// Vault decides a token's policies together: the most specific pattern of
// all of them wins (see mergeHCLRules).
func (p *policies) combinedHCL(rows []policyRow) (*authz.Document, error) {
	names := make([]string, len(rows))
	texts := make([]string, len(rows))
	for i, r := range rows {
		names[i], texts[i] = r.Name, r.HCL
	}
	key := "hcl:" + strings.Join(names, "+")
	return p.cached(key, strings.Join(texts, "\x00"), func() (string, error) {
		sets := make([][]hclRule, len(rows))
		for i, r := range rows {
			rules, err := parseHCLPolicy(r.HCL)
			if err != nil {
				return "", fmt.Errorf("stored policy %q: %w", r.Name, err)
			}
			sets[i] = rules
		}
		return hclToCedar(strings.Join(names, ", "), mergeHCLRules(sets...)), nil
	})
}

// authorize asks Cedar whether t may do capability on path (within mount).
// The root policy allows everything; otherwise deny unless a permit of one of
// the token's policies applies and no forbid does.
func (p *policies) authorize(ctx context.Context, r *http.Request, t *Token, capability, path, mount string) error {
	if t.isRoot() {
		return nil
	}
	docs, err := p.documents(ctx, t.Policies)
	if err != nil {
		return err
	}
	engine, err := authz.NewEngine("vault", docs...)
	if err != nil {
		return err
	}
	principal := cedar.NewEntityUID("Token", cedar.String(accessorDigest(t.Accessor)))
	resource := cedar.NewEntityUID("Path", cedar.String(path))
	tags := cedar.RecordMap{}
	for k, v := range t.Meta {
		tags[cedar.String(k)] = cedar.String(v)
	}
	var pols []cedar.Value
	for _, name := range t.Policies {
		pols = append(pols, cedar.String(name))
	}
	now := time.Now().UTC()
	d := engine.Authorize(ctx, authz.Request{
		Principal: principal,
		Action:    cedar.NewEntityUID("Action", cedar.String(capability)),
		Resource:  resource,
		Context: cedar.NewRecord(cedar.RecordMap{
			"hour": cedar.Long(now.Hour()), "weekday": cedar.Long(now.Weekday()), "remote_addr": cedar.String(r.RemoteAddr),
		}),
		Entities: cedar.EntityMap{
			principal: {UID: principal, Attributes: cedar.NewRecord(cedar.RecordMap{
				"display_name": cedar.String(t.DisplayName), "policies": cedar.NewSet(pols...),
			}), Tags: cedar.NewRecord(tags)},
			resource: {UID: resource, Attributes: cedar.NewRecord(cedar.RecordMap{
				"path": cedar.String(path), "mount": cedar.String(mount), "indexed": cedar.String(indexedPath(path)),
			})},
		},
	})
	if !d.Allowed {
		return errPermissionDenied
	}
	return nil
}

// accessorDigest names a token in Cedar's decision log without its accessor,
// which lets whoever may look up or revoke by accessor act on the token (Vault
// HMACs accessors in its audit log for that reason). An accessor is random, so
// a plain digest cannot be reversed, and the same token has the same name.
func accessorDigest(accessor string) string {
	sum := sha256.Sum256([]byte(accessor))
	return "sha256:" + hex.EncodeToString(sum[:12])
}
