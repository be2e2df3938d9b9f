package vault

import (
	"context"
	"log/slog"

	"github.com/stratumiops/stratumiops/shared/vault/integrity"
)

// policyMACFields are what a policy's MAC covers: its name, its Cedar text and
// the HCL it was written in. A policy deleted outside the vault cannot be
// told from one never written: the MAC proves content, not presence.
type policyMACFields struct {
	Name, Text, HCL string
}

func (p *policies) mac(ctx context.Context, row policyRow) (string, error) {
	key, err := p.keys.Get(ctx)
	if err != nil {
		return "", apiError(err)
	}
	return integrity.Sum(key, "policy", row.Name, policyMACFields{row.Name, row.Text, row.HCL})
}

// check refuses a policy edited outside the vault. Refusing the request, not
// just the policy, fails closed: dropping a policy could drop a forbid.
func (p *policies) check(ctx context.Context, row *policyRow) error {
	key, err := p.keys.Get(ctx)
	if err != nil {
		return apiError(err)
	}
	if err := integrity.Check(key, "policy", row.Name, policyMACFields{row.Name, row.Text, row.HCL}, row.MAC); err != nil {
		slog.ErrorContext(ctx, "policy record refused", "policy", row.Name, "err", err)
		return errPermissionDenied
	}
	return nil
}
