package keeper_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// deadOnce is an Invoker whose first invocation finds the environment's
// runtime process gone, as Lambda reports it; the next ones reach vault-crypto.
type deadOnce struct {
	next  invoke.Invoker
	calls int
}

func (d *deadOnce) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	d.calls++
	if d.calls == 1 {
		return nil, &invoke.FunctionError{Function: function, Type: "Runtime.ExitError", Message: "Runtime exited with error: signal: killed"}
	}
	return d.next.Invoke(ctx, function, payload)
}

// An operation that only computes is asked again when the environment that
// took it had lost its runtime; one that changes state (seal) is not, and
// its caller sees the failure.
func TestRuntimeDeathIsRetriedOnlyForComputeOnlyOps(t *testing.T) {
	ctx := context.Background()
	local := invoke.NewLocal()
	local.Register("vault-crypto", func(context.Context, []byte) ([]byte, error) {
		return []byte(`{"status":{"initialized":true,"sealed":false,"t":3,"n":5}}`), nil
	})
	dead := &deadOnce{next: local}
	c := &keeper.Client{Invoker: dead, Function: "vault-crypto"}
	st, err := c.Status(ctx)
	if err != nil || !st.Initialized || dead.calls != 2 {
		t.Fatalf("status after a dead runtime: %+v %v (%d calls)", st, err, dead.calls)
	}
	dead.calls = 0
	err = c.Seal(ctx)
	var fe *invoke.FunctionError
	if !errors.As(err, &fe) || fe.Type != "Runtime.ExitError" || dead.calls != 1 {
		t.Fatalf("seal after a dead runtime: %v (%d calls)", err, dead.calls)
	}
}
