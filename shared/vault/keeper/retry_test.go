package keeper_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// deadFirst is an Invoker whose first dead invocations find their
// environment's runtime process gone, as Lambda reports it; the next ones
// reach vault-crypto.
type deadFirst struct {
	next        invoke.Invoker
	dead, calls int
}

func (d *deadFirst) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	d.calls++
	if d.calls <= d.dead {
		return nil, &invoke.FunctionError{Function: function, Type: "Runtime.ExitError", Message: "Runtime exited with error: signal: killed"}
	}
	return d.next.Invoke(ctx, function, payload)
}

// An operation that only computes is asked again when the environment that
// took it had lost its runtime, a few times (several environments may have
// died at once); one that changes state (seal) is not, and its caller sees
// the failure.
func TestRuntimeDeathIsRetriedOnlyForComputeOnlyOps(t *testing.T) {
	ctx := context.Background()
	local := invoke.NewLocal()
	local.Register("vault-crypto", func(context.Context, []byte) ([]byte, error) {
		return []byte(`{"status":{"initialized":true,"sealed":false,"t":3,"n":5}}`), nil
	})
	dead := &deadFirst{next: local, dead: 3}
	c := &keeper.Client{Invoker: dead, Function: "vault-crypto"}
	st, err := c.Status(ctx)
	if err != nil || !st.Initialized || dead.calls != 4 {
		t.Fatalf("status after three dead runtimes: %+v %v (%d calls)", st, err, dead.calls)
	}
	dead.calls, dead.dead = 0, 4
	if _, err := c.Status(ctx); err == nil || dead.calls != 4 {
		t.Fatalf("status after four dead runtimes: %v (%d calls)", err, dead.calls)
	}
	dead.calls, dead.dead = 0, 1
	err = c.Seal(ctx)
	var fe *invoke.FunctionError
	if !errors.As(err, &fe) || fe.Type != "Runtime.ExitError" || dead.calls != 1 {
		t.Fatalf("seal after a dead runtime: %v (%d calls)", err, dead.calls)
	}
}
