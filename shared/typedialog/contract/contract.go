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

	"github.com/stratumiops/stratumiops/shared/platform/cuecontract"
)

// Violation is one broken constraint: the answer's path and what it broke.
type Violation = cuecontract.Violation

// Error lists every violation of a contract.
type Error = cuecontract.Error

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
	return cuecontract.Check(name, src, values)
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
