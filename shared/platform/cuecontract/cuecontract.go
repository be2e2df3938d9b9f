// Package cuecontract checks a value against a CUE contract and names each
// broken constraint by its path in the value. TypeDialog's form contracts
// and Provisioning's workflow contract use it. CUE is heavy: only the
// binaries that check contracts (the CLI, tests) should import it.
package cuecontract

import (
	"fmt"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
)

// Violation is one broken constraint: the value's path and what it broke.
type Violation struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Error lists every violation of a contract.
type Error struct {
	Contract   string
	Violations []Violation
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Path + ": " + v.Message
	}
	return fmt.Sprintf("contract %s: %s", e.Contract, strings.Join(parts, "; "))
}

// Contract is a compiled CUE contract, checked against many values. CUE
// values are not safe for concurrent use: Check serialises its callers.
type Contract struct {
	name   string
	mu     sync.Mutex
	cctx   *cue.Context
	schema cue.Value
}

// Compile parses and builds the CUE contract src, named name; an error
// names the position of each problem.
func Compile(name string, src []byte) (*Contract, error) {
	file, err := parser.ParseFile(name, src)
	if err != nil {
		return nil, fmt.Errorf("contract %s does not parse: %s", name, cueerrors.Details(err, nil))
	}
	cctx := cuecontext.New()
	schema := cctx.BuildFile(file)
	if err := schema.Validate(); err != nil { // incomplete values are allowed: answers complete them
		return nil, fmt.Errorf("contract %s does not compile: %s", name, cueerrors.Details(err, nil))
	}
	return &Contract{name: name, cctx: cctx, schema: schema}, nil
}

// Check unifies value (anything that encodes as JSON) with the CUE contract
// src, named name, and returns an *Error naming each violated constraint.
func Check(name string, src []byte, value any) error {
	c, err := Compile(name, src)
	if err != nil {
		return err
	}
	return c.Check(value)
}

// maxPasses bounds the re-checks of Check.
const maxPasses = 4

// Check unifies value (anything that encodes as JSON) with the contract and
// returns an *Error naming each violated constraint. CUE reports a missing
// required field (team_size!) only when nothing worse is wrong, so an object
// is checked again without the fields already named, until no new field
// fails: every failing field is named at once.
func (c *Contract) Check(value any) error {
	in, err := asInput(value)
	if err != nil {
		return err
	}
	return c.check(in)
}

func (c *Contract) check(in input) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := &Error{Contract: c.name}
	named := map[string]bool{} // top-level fields already named
	for pass := range maxPasses {
		vs, err := c.violations(in)
		if err != nil {
			return err
		}
		var fresh []Violation
		for _, v := range vs {
			// Without a field, a comprehension on it is unresolved (an error
			// of the whole value): not the answers' fault.
			if top, _, _ := strings.Cut(v.Path, "."); !named[top] && (pass == 0 || v.Path != "") {
				fresh = append(fresh, v)
			}
		}
		if len(fresh) == 0 {
			break
		}
		out.Violations = append(out.Violations, fresh...)
		for _, v := range fresh {
			top, _, _ := strings.Cut(v.Path, ".")
			named[top] = true
		}
		var ok bool
		if in, ok, err = in.without(named); err != nil {
			return err
		} else if !ok {
			break // not an object: nothing to leave out
		}
	}
	if len(out.Violations) == 0 {
		return nil
	}
	return out
}

// violations builds the value in the contract's context and lists each
// constraint it violates.
func (c *Contract) violations(in input) ([]Violation, error) {
	v, err := in.value(c.cctx)
	if err == nil {
		err = v.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("value as cue: %w", err)
	}
	return c.verdict(v), nil
}

// verdict unifies v with the contract and lists each violated constraint
// CUE reports.
func (c *Contract) verdict(v cue.Value) []Violation {
	err := c.schema.Unify(v).Validate(cue.Concrete(true), cue.Final())
	if err == nil {
		return nil
	}
	var out []Violation
	seen := map[string]bool{}
	for _, e := range cueerrors.Errors(err) {
		path := strings.Join(e.Path(), ".")
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if seen[path+msg] {
			continue
		}
		seen[path+msg] = true
		out = append(out, Violation{Path: path, Message: msg})
	}
	return out
}
