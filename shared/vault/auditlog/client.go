package auditlog

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// Function is the catalog name of the function that checkpoints and
// verifies the log (it reads the checkpoints kept outside the database).
const Function = "vault-audit"

// Client asks vault-audit to verify the log.
type Client struct {
	Invoker invoke.Invoker
}

// Verify walks the log and holds it against the latest checkpoint.
func (c *Client) Verify(ctx context.Context) (Report, error) {
	out, err := c.Invoker.Invoke(ctx, Function, []byte(`{"op":"verify"}`))
	if err != nil {
		return Report{}, fmt.Errorf("%s verify: %w", Function, keeper.FromFunctionError(err))
	}
	var rep Report
	if err := json.Unmarshal(out, &rep); err != nil {
		return Report{}, fmt.Errorf("%s verify: bad reply: %w", Function, err)
	}
	return rep, nil
}
