// Package invoke is how one function calls another with the AWS Lambda Invoke
// API's semantics: the Invoker interface, an in-process implementation for
// tests and the devstack, and the Invoke API endpoint that the devstack
// serves. Deployed functions use the client in lambdaclient.
package invoke

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
)

// Invoker calls a function by name with a JSON payload and returns its JSON result.
type Invoker interface {
	Invoke(ctx context.Context, function string, payload []byte) ([]byte, error)
}

// Handler is a function's entry point for the Invoke API: JSON in, JSON out.
type Handler func(ctx context.Context, payload []byte) ([]byte, error)

// FunctionError is an error returned by the invoked function itself (Lambda's
// X-Amz-Function-Error), as opposed to a failure to reach it.
type FunctionError struct {
	Function string
	// Type is the error's type name as Lambda reports it ("errorType").
	Type    string
	Message string
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function %s failed: %s: %s", e.Function, e.Type, e.Message)
}

// ErrFunctionNotFound is returned for a name no function answers to.
var ErrFunctionNotFound = errors.New("function not found")

// ErrorType names err's type the way the Lambda Go runtime does for errorType.
func ErrorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// Local runs registered handlers in-process, with Lambda's error semantics.
type Local struct {
	mu       sync.RWMutex
	handlers map[string]Handler
}

// NewLocal returns an empty in-process invoker.
func NewLocal() *Local { return &Local{handlers: map[string]Handler{}} }

// Register makes h answer to function.
func (l *Local) Register(function string, h Handler) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.handlers[function] = h
}

// Invoke calls the handler registered as function; an error it returns becomes a *FunctionError.
func (l *Local) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	l.mu.RLock()
	h, ok := l.handlers[function]
	l.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("invoke %s: %w", function, ErrFunctionNotFound)
	}
	out, err := h(ctx, payload)
	if err != nil {
		return nil, &FunctionError{Function: function, Type: ErrorType(err), Message: err.Error()}
	}
	return out, nil
}

// ErrorTypeName is the remote error type, for code that tests errors through
// an interface (the bus's IsPermanent) rather than this package's type.
func (e *FunctionError) ErrorTypeName() string { return e.Type }
