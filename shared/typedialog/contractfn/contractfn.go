// Package contractfn is typedialog-contract: it unifies a form's answers
// with the form's CUE contract and names each violated constraint by field.
// It is a function of its own so that only it links CUE, and it ships as a
// container image: CUE's cuecontext links every builtin, which no zip
// bootstrap here fits (see shared/typedialog/remote, catalog Image).
package contractfn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/stratumiops/stratumiops/shared/platform/cuecontract"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/typedialog/remote"
)

// Functions holds typedialog-contract, by catalog name.
func Functions() function.Set {
	return function.Set{remote.ContractFunction: Function}
}

// Function is typedialog-contract.
func Function() function.Builder {
	return function.Invoke(func(context.Context, *function.Deps) (invoke.Handler, error) {
		return NewChecker().Handle, nil
	})
}

// maxCached bounds the contracts an instance keeps compiled.
const maxCached = 256

// Checker compiles each contract once per instance (by its name and source)
// and checks answers with it. A compiled CUE contract checks one value at a
// time, so concurrent checks of one contract (the devstack runs the
// function in-process) each take a copy of their own (see pool.go).
type Checker struct {
	mu       sync.Mutex
	compiled map[[32]byte]chan *cuecontract.Contract
}

// NewChecker returns a Checker with an empty cache.
func NewChecker() *Checker { return &Checker{compiled: map[[32]byte]chan *cuecontract.Contract{}} }

// Handle answers a remote.Request with a remote.ContractResult. A contract
// that does not compile and answers that break it are results; only a
// malformed request is an error.
func (c *Checker) Handle(_ context.Context, payload []byte) ([]byte, error) {
	req, err := remote.Decode(payload)
	if err != nil {
		return nil, err
	}
	contract, release, err := c.contract(req.Name, req.Source)
	if err != nil { // CUE's details put each position on a line of its own
		return json.Marshal(remote.ContractResult{Problem: strings.Join(strings.Fields(err.Error()), " ")})
	}
	defer release()
	var res remote.ContractResult
	if req.Op == remote.OpRun {
		values := req.Values
		if values == nil {
			values = map[string]any{}
		}
		err := contract.Check(values)
		var ce *cuecontract.Error
		switch {
		case errors.As(err, &ce):
			res.Violations = byField(ce.Violations)
		case err != nil:
			return nil, fmt.Errorf("check answers against %s: %w", req.Name, err)
		}
	}
	return json.Marshal(res)
}

// byField gives one violation per field, in the order CUE reported them:
// a value outside a disjunction (department: "engineering" | "product" | …)
// is one violation listing each alternative it conflicts with, without
// CUE's "N errors in empty disjunction" header.
func byField(vs []cuecontract.Violation) []remote.Violation {
	var out []remote.Violation
	at := map[string]int{}
	for _, v := range vs {
		if strings.HasSuffix(v.Message, "errors in empty disjunction:") {
			continue
		}
		i, ok := at[v.Path]
		if !ok {
			at[v.Path] = len(out)
			out = append(out, remote.Violation{Path: v.Path, Message: v.Message})
			continue
		}
		out[i].Message += "; " + v.Message
	}
	return out
}
