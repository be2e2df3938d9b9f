// Package leases is how vault-sys and vault-secrets reach vault-database,
// the function that serves database mounts and owns every lease on dynamic
// credentials: lookup, renew, revoke, revoke-prefix, and revoking the
// leases of revoked tokens. It has no database driver, so the HTTP
// functions that import it stay small.
package leases

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// Function is the catalog name of the function that holds the leases.
const Function = "vault-database"

// Request is one call to vault-database.
type Request struct {
	Op string `json:"op"` // engine, lookup, renew, revoke, revoke_prefix, revoke_tokens, remac
	// Engine is a database mount's request (Op "engine").
	Engine *keeper.EngineRequest `json:"engine,omitempty"`
	// LeaseID names the lease (lookup, renew, revoke) or Prefix a set of them.
	LeaseID string `json:"lease_id,omitempty"`
	Prefix  string `json:"prefix,omitempty"`
	// Increment is the renewal asked for (0: the role's default TTL).
	Increment time.Duration `json:"increment,omitempty"`
	// Tokens are the hashes of revoked tokens whose leases go with them.
	Tokens []string `json:"tokens,omitempty"`
	// Generation is the seal generation the caller observed (keeper.WithGeneration).
	Generation int `json:"generation,omitempty"`
}

// Lease is what sys/leases/lookup and renew show.
type Lease struct {
	ID          string     `json:"id"`
	IssueTime   time.Time  `json:"issue_time"`
	ExpireTime  time.Time  `json:"expire_time"`
	LastRenewal *time.Time `json:"last_renewal"`
	Renewable   bool       `json:"renewable"`
	TTL         int64      `json:"ttl"`
}

// Response is vault-database's answer.
type Response struct {
	Engine   *keeper.EngineResponse `json:"engine,omitempty"`
	Lease    *Lease                 `json:"lease,omitempty"`
	Revoked  int                    `json:"revoked,omitempty"`
	Remacked int                    `json:"remacked,omitempty"`
	Warnings []string               `json:"warnings,omitempty"`
}

// Client calls vault-database through an Invoker.
type Client struct{ Invoker invoke.Invoker }

// Call sends req; typed errors (InvalidError, SealedError) come back typed.
func (c *Client) Call(ctx context.Context, req Request) (Response, error) {
	req.Generation = keeper.GenerationFrom(ctx)
	payload, err := json.Marshal(req)
	if err != nil {
		return Response{}, err
	}
	out, err := c.Invoker.Invoke(ctx, Function, payload)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", Function, req.Op, keeper.FromFunctionError(err))
	}
	var res Response
	if err := json.Unmarshal(out, &res); err != nil {
		return Response{}, fmt.Errorf("%s %s: bad reply: %w", Function, req.Op, err)
	}
	return res, nil
}

// Engine passes a database mount's request on.
func (c *Client) Engine(ctx context.Context, req keeper.EngineRequest) (keeper.EngineResponse, error) {
	res, err := c.Call(ctx, Request{Op: "engine", Engine: &req})
	if err == nil && res.Engine == nil {
		err = errors.New("vault-database: empty reply")
	}
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return *res.Engine, nil
}

// Remac has vault-database MAC the leases written before lease MACs, when
// the one-time re-MAC is due (it asks vault-crypto itself); how many it did.
func (c *Client) Remac(ctx context.Context) (int, error) {
	res, err := c.Call(ctx, Request{Op: "remac"})
	return res.Remacked, err
}
