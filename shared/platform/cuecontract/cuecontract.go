// Package cuecontract checks a value against a CUE contract and names each
// broken constraint by its path in the value. TypeDialog's form contracts
// and Provisioning's workflow contract use it. CUE is heavy: only the
// binaries that check contracts (the CLI, tests) should import it.
package cuecontract

import (
	"encoding/json"
	"fmt"
	"strings"

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

// Check unifies value (anything that encodes as JSON) with the CUE contract
// src, named name, and returns an *Error naming each violated constraint.
func Check(name string, src []byte, value any) error {
	file, err := parser.ParseFile(name, src)
	if err != nil {
		return fmt.Errorf("contract %s does not parse: %w", name, err)
	}
	cctx := cuecontext.New()
	schema := cctx.BuildFile(file)
	data, err := json.Marshal(value)
	if err != nil {
		return fmt.Errorf("encode value: %w", err)
	}
	v := cctx.CompileBytes(data, cue.Filename("value.json"))
	if err := v.Err(); err != nil {
		return fmt.Errorf("value as cue: %w", err)
	}
	err = schema.Unify(v).Validate(cue.Concrete(true), cue.Final())
	if err == nil {
		return nil
	}
	out := &Error{Contract: name}
	seen := map[string]bool{}
	for _, e := range cueerrors.Errors(err) {
		path := strings.Join(e.Path(), ".")
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if seen[path+msg] {
			continue
		}
		seen[path+msg] = true
		out.Violations = append(out.Violations, Violation{Path: path, Message: msg})
	}
	return out
}
