// Package contract checks a form's answers against the contract its
// [output] validation names: cue://path (CUE, evaluated in-process) or
// nickel://path (the nickel binary when it is on PATH). It is kept apart
// from the form engine so only binaries that check contracts link CUE.
package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
)

// Violation is one broken constraint: the answer's path and what it broke.
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

// ErrNoNickel is returned for nickel:// contracts when no nickel binary is installed.
var ErrNoNickel = errors.New("nickel:// contracts need the nickel binary on PATH, and it is not installed; use a cue:// contract")

// Resolve finds a contract's file: the path as given (relative to the
// working directory), else relative to each of dirs (the form's directory)
// or one of their parents, so a project-relative cue://schemas/… resolves
// from any working directory.
func Resolve(path string, dirs ...string) (string, error) {
	if filepath.IsAbs(path) {
		return path, nil
	}
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	for _, d := range dirs {
		dir, err := filepath.Abs(d)
		if err != nil {
			continue
		}
		for ; ; dir = filepath.Dir(dir) {
			p := filepath.Join(dir, path)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			if dir == filepath.Dir(dir) {
				break
			}
		}
	}
	return "", fmt.Errorf("contract file %s not found", path)
}

// Check validates values against ref ("cue://…" or "nickel://…"). dirs are
// tried in turn to resolve a relative path.
func Check(ctx context.Context, ref string, values map[string]any, dirs ...string) error {
	scheme, path, ok := strings.Cut(ref, "://")
	if !ok {
		return fmt.Errorf("contract %q: want cue://path or nickel://path", ref)
	}
	switch scheme {
	case "cue":
		file, err := Resolve(path, dirs...)
		if err != nil {
			return err
		}
		src, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("read contract: %w", err)
		}
		return CheckCUE(file, src, values)
	case "nickel":
		file, err := Resolve(path, dirs...)
		if err != nil {
			return err
		}
		return checkNickel(ctx, file, values)
	}
	return fmt.Errorf("contract %q: unknown scheme %q (cue or nickel)", ref, scheme)
}

// CheckCUE unifies the answers with a CUE contract and names each violated
// constraint.
func CheckCUE(name string, src []byte, values map[string]any) error {
	file, err := parser.ParseFile(name, src)
	if err != nil {
		return fmt.Errorf("contract %s does not parse: %w", name, err)
	}
	cctx := cuecontext.New()
	schema := cctx.BuildFile(file)
	data, err := json.Marshal(values)
	if err != nil {
		return fmt.Errorf("encode answers: %w", err)
	}
	answers := cctx.CompileBytes(data, cue.Filename("answers.json"))
	if err := answers.Err(); err != nil {
		return fmt.Errorf("answers as cue: %w", err)
	}
	err = schema.Unify(answers).Validate(cue.Concrete(true), cue.Final())
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

func checkNickel(ctx context.Context, file string, values map[string]any) error {
	bin, err := exec.LookPath("nickel")
	if err != nil {
		return ErrNoNickel
	}
	data, err := json.Marshal(values)
	if err != nil {
		return fmt.Errorf("encode answers: %w", err)
	}
	expr := fmt.Sprintf("(std.deserialize 'Json %q) | (import %q)", data, file)
	cmd := exec.CommandContext(ctx, bin, "eval")
	cmd.Stdin = strings.NewReader(expr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return &Error{Contract: file, Violations: []Violation{{Path: "", Message: strings.TrimSpace(stderr.String())}}}
	}
	return nil
}
