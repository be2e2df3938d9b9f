package remote

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// ContractFunction is typedialog-contract's catalog name.
const ContractFunction = "typedialog-contract"

// Violation is one broken constraint of a contract: the answer's path and
// what it broke.
type Violation struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// ContractResult is typedialog-contract's answer: the violations (none when
// the answers satisfy the contract), or Problem when the contract itself
// does not compile (naming its line).
type ContractResult struct {
	Violations []Violation `json:"violations,omitempty"`
	Problem    string      `json:"problem,omitempty"`
}

// ContractError is a contract's verdict on answers (Violations) or on its
// own source (Problem).
type ContractError struct {
	Contract   string
	Violations []Violation
	Problem    string
}

func (e *ContractError) Error() string {
	if e.Problem != "" {
		return e.Problem
	}
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.Path + ": " + v.Message
	}
	return fmt.Sprintf("contract %s: %s", e.Contract, strings.Join(parts, "; "))
}

// CheckContract checks values against a contract (OpRun) or compiles it
// alone (OpCompile). A broken constraint or a contract that does not
// compile is a *ContractError; any other error is a failure to reach the
// function.
func (c *Client) CheckContract(ctx context.Context, op, name, src string, values map[string]any) error {
	payload, err := json.Marshal(Request{Op: op, Name: name, Source: src, Values: values})
	if err != nil {
		return fmt.Errorf("encode %s request: %w", ContractFunction, err)
	}
	out, err := c.Invoker.Invoke(ctx, ContractFunction, payload)
	if err != nil {
		return fmt.Errorf("invoke %s: %w", ContractFunction, err)
	}
	var res ContractResult
	if err := json.Unmarshal(out, &res); err != nil {
		return fmt.Errorf("%s answered %.200q: %w", ContractFunction, out, err)
	}
	if res.Problem != "" || len(res.Violations) > 0 {
		return &ContractError{Contract: name, Violations: res.Violations, Problem: res.Problem}
	}
	return nil
}
