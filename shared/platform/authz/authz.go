// Package authz evaluates Cedar policies (cedar-go) for every system. Policy
// sets and their schemas live in schemas/cedar/<system>/; policies are checked
// against the schema when loaded. Decisions deny by default and each one is
// logged with the policies that decided it.
package authz

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/cedar-policy/cedar-go"
	expast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// SchemaFile is the name of a system's Cedar schema (human-readable format).
const SchemaFile = "schema.cedarschema"

// Engine holds one system's policy set and, if shipped, its schema.
type Engine struct {
	system    string
	policies  *cedar.PolicySet
	validator *validate.Validator
}

// Load reads dir/schema.cedarschema (optional) and every dir/*.cedar policy file.
// A policy's id is its @id("...") annotation, else "<file>#<index>".
func Load(fsys fs.FS, dir string) (*Engine, error) {
	e := &Engine{system: path.Base(dir), policies: cedar.NewPolicySet()}
	if raw, err := fs.ReadFile(fsys, path.Join(dir, SchemaFile)); err == nil {
		v, err := NewValidator(raw)
		if err != nil {
			return nil, fmt.Errorf("cedar schema %s: %w", path.Join(dir, SchemaFile), err)
		}
		e.validator = v
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read cedar schema %s: %w", dir, err)
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read cedar policies %s: %w", dir, err)
	}
	for _, ent := range entries {
		if ent.IsDir() || !strings.HasSuffix(ent.Name(), ".cedar") {
			continue
		}
		raw, err := fs.ReadFile(fsys, path.Join(dir, ent.Name()))
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", ent.Name(), err)
		}
		if err := e.AddPolicies(ent.Name(), raw); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// NewValidator parses a Cedar schema in the human-readable format.
func NewValidator(schemaText []byte) (*validate.Validator, error) {
	var s schema.Schema
	if err := s.UnmarshalCedar(schemaText); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	resolved, err := s.Resolve()
	if err != nil {
		return nil, fmt.Errorf("resolve: %w", err)
	}
	return validate.New(resolved), nil
}

// Document is a parsed, validated policy document; engines can share it.
type Document struct {
	Name     string
	policies map[cedar.PolicyID]*cedar.Policy
}

// ParseDocument parses the policies of one document and validates each against
// the schema (when validator is not nil). A policy's id is its @id("...")
// annotation, else "<name>#<index>".
func ParseDocument(name string, text []byte, validator *validate.Validator) (*Document, error) {
	list, err := cedar.NewPolicyListFromBytes(name, text)
	if err != nil {
		return nil, fmt.Errorf("parse cedar %s: %w", name, err)
	}
	doc := &Document{Name: name, policies: map[cedar.PolicyID]*cedar.Policy{}}
	for i, p := range list {
		id := cedar.PolicyID(fmt.Sprintf("%s#%d", name, i))
		if v, ok := p.Annotations()["id"]; ok && v != "" {
			id = cedar.PolicyID(v)
		}
		if doc.policies[id] != nil {
			return nil, fmt.Errorf("cedar %s: policy id %q defined twice", name, id)
		}
		if validator != nil {
			if err := validator.Policy(string(id), (*expast.Policy)(p.AST())); err != nil {
				return nil, fmt.Errorf("cedar %s: policy %q does not match the schema: %w", name, id, err)
			}
		}
		doc.policies[id] = p
	}
	return doc, nil
}

// NewEngine evaluates the given documents for system.
func NewEngine(system string, docs ...*Document) (*Engine, error) {
	e := &Engine{system: system, policies: cedar.NewPolicySet()}
	for _, d := range docs {
		if err := e.add(d); err != nil {
			return nil, err
		}
	}
	return e, nil
}

func (e *Engine) add(d *Document) error {
	for id := range d.policies {
		if e.policies.Get(id) != nil {
			return fmt.Errorf("cedar %s: policy id %q defined twice", d.Name, id)
		}
	}
	for id, p := range d.policies {
		e.policies.Add(id, p)
	}
	return nil
}

// AddPolicies parses a document of policies, validates each against the
// engine's schema (if any) and adds them. Nothing is added if any is invalid.
func (e *Engine) AddPolicies(file string, text []byte) error {
	doc, err := ParseDocument(file, text, e.validator)
	if err != nil {
		return err
	}
	return e.add(doc)
}

// PolicyIDs lists the loaded policy ids, sorted.
func (e *Engine) PolicyIDs() []string {
	var ids []string
	for id := range e.policies.All() {
		ids = append(ids, string(id))
	}
	sort.Strings(ids)
	return ids
}

// Request is one authorization question, with the entities it refers to.
type Request struct {
	Principal cedar.EntityUID
	Action    cedar.EntityUID
	Resource  cedar.EntityUID
	Context   cedar.Record
	Entities  cedar.EntityMap
}

// Decision is the answer, with the policies that decided it.
type Decision struct {
	Allowed bool
	// Policies are the ids of the policies that determined the decision
	// (the permits that allowed it, or the forbids that denied it).
	Policies []string
	// Errors are policies that failed to evaluate; they are skipped, so
	// they can only ever lead to a deny.
	Errors []string
}

// Authorize decides req, denying unless some permit applies and no forbid does,
// and logs the decision.
func (e *Engine) Authorize(ctx context.Context, req Request) Decision {
	if req.Entities == nil {
		req.Entities = cedar.EntityMap{}
	}
	decision, diag := cedar.Authorize(e.policies, req.Entities, cedar.Request{
		Principal: req.Principal, Action: req.Action, Resource: req.Resource, Context: req.Context,
	})
	d := Decision{Allowed: decision == cedar.Allow}
	for _, r := range diag.Reasons {
		d.Policies = append(d.Policies, string(r.PolicyID))
	}
	for _, er := range diag.Errors {
		d.Errors = append(d.Errors, er.String())
	}
	slices.Sort(d.Policies)
	// Denials are worth reading; allows only when debugging (a list of 50
	// projects asks 50 times).
	level := slog.LevelInfo
	if d.Allowed {
		level = slog.LevelDebug
	}
	obs.Log(ctx).Log(ctx, level, "authz decision", "system", e.system, "principal", req.Principal.String(),
		"action", req.Action.String(), "resource", req.Resource.String(),
		"decision", map[bool]string{true: "allow", false: "deny"}[d.Allowed],
		"policies", d.Policies, "errors", d.Errors)
	return d
}

// Entity builds an entity with attributes and parents.
func Entity(uid cedar.EntityUID, attrs cedar.RecordMap, parents ...cedar.EntityUID) cedar.Entity {
	return cedar.Entity{UID: uid, Attributes: cedar.NewRecord(attrs), Parents: cedar.NewEntityUIDSet(parents...)}
}

// Entities collects entities into an EntityMap.
func Entities(es ...cedar.Entity) cedar.EntityMap {
	m := cedar.EntityMap{}
	for _, e := range es {
		m[e.UID] = e
	}
	return m
}
