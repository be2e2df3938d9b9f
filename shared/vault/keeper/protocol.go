package keeper

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// Request is one call to vault-crypto over the Lambda Invoke API.
type Request struct {
	Op        string   `json:"op"` // status, init, unseal, seal, seal_records, open_records, token_hash, audit_hmac, audit_chain_key, record_key, records_due, records_done
	Shares    int      `json:"secret_shares,omitempty"`
	Threshold int      `json:"secret_threshold,omitempty"`
	Key       string   `json:"key,omitempty"`
	Reset     bool     `json:"reset,omitempty"`
	Records   []Record `json:"records,omitempty"`
	Token     string   `json:"token,omitempty"`
	Values    []string `json:"values,omitempty"`
	// Generation is the seal generation the caller observed (see WithGeneration).
	Generation int `json:"generation,omitempty"`
	// Engine is a request for a secrets engine whose keys live here (transit, pki).
	Engine *EngineRequest `json:"engine,omitempty"`
}

// EngineRequest is a request to a secrets engine that vault-secrets has
// authenticated and authorized, passed on to vault-crypto where the engine's
// keys are.
type EngineRequest struct {
	Engine    string            `json:"engine"`     // the mount's type
	MountUUID string            `json:"mount_uuid"` // storage lives under logical/<uuid>/
	Operation string            `json:"operation"`  // read, list, update or delete
	Path      string            `json:"path"`       // below the mount
	Body      json.RawMessage   `json:"body,omitempty"`
	Query     map[string]string `json:"query,omitempty"`
	// Granted lists capabilities beyond the operation's that the caller
	// holds on the path: "create" when an engine asked for it.
	Granted []string `json:"granted,omitempty"`
	// MountPath, TokenHash and DisplayName identify where and for whom a
	// lease is made (the database engine).
	MountPath   string `json:"mount_path,omitempty"`
	TokenHash   string `json:"token_hash,omitempty"`
	DisplayName string `json:"display_name,omitempty"`
	// DefaultLeaseTTL and MaxLeaseTTL are the mount's tuned lease TTLs in
	// seconds (sys/mounts/<path>/tune), 0 where the system default applies.
	DefaultLeaseTTL int64 `json:"default_lease_ttl,omitempty"`
	MaxLeaseTTL     int64 `json:"max_lease_ttl,omitempty"`
}

// EngineResponse is an engine's answer, in Vault's envelope terms.
type EngineResponse struct {
	Status      int             `json:"status"`
	Data        json.RawMessage `json:"data,omitempty"`
	Warnings    []string        `json:"warnings,omitempty"`
	Raw         []byte          `json:"raw,omitempty"` // a non-JSON body (PEM, DER)
	ContentType string          `json:"content_type,omitempty"`
	// Requires names a capability the request needs beyond its operation's
	// (creating a key on first use needs "create"): check it and ask again.
	Requires string `json:"requires,omitempty"`
	// A lease on the answer's secret (database credentials).
	LeaseID       string `json:"lease_id,omitempty"`
	LeaseDuration int    `json:"lease_duration,omitempty"`
	Renewable     bool   `json:"renewable,omitempty"`
}

// Engine serves engine requests inside vault-crypto.
type Engine interface {
	Serve(ctx context.Context, req EngineRequest) (EngineResponse, error)
}

// Response is vault-crypto's answer.
type Response struct {
	Status  *Status     `json:"status,omitempty"`
	Init    *InitResult `json:"init,omitempty"`
	Records []Record    `json:"records,omitempty"`
	Hash    string      `json:"hash,omitempty"`
	Hashes  []string    `json:"hashes,omitempty"`
	// ChainKey keys the audit log's chain (audit_hmac, audit_chain_key).
	ChainKey []byte `json:"chain_key,omitempty"`
	// RecordKey MACs the authorization records (token_hash, record_key).
	RecordKey []byte `json:"record_key,omitempty"`
	// Generation is the seal generation the keys above belong to.
	KeyGeneration int             `json:"key_generation,omitempty"`
	Engine        *EngineResponse `json:"engine,omitempty"`
	// RecordsDue says the records are to be MAC'd again (records_due).
	RecordsDue bool `json:"records_due,omitempty"`
}

// Handler serves Requests: vault-crypto's entry point. Errors keep their type
// (SealedError, InvalidError, UpstreamError) across the Invoke API as
// Lambda's errorType. engines serve the engine requests, by mount type.
func Handler(k *Keeper, engines map[string]Engine) invoke.Handler {
	eng := &engineSet{byType: engines}
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var req Request
		if err := json.Unmarshal(payload, &req); err != nil {
			return nil, invalid("malformed vault-crypto request: %v", err)
		}
		if req.Generation != 0 {
			ctx = WithGeneration(ctx, req.Generation)
		}
		var res Response
		var err error
		switch req.Op {
		case "status":
			var st Status
			st, err = k.Status(ctx)
			res.Status = &st
		case "init":
			var ir InitResult
			ir, err = k.Init(ctx, req.Shares, req.Threshold)
			res.Init = &ir
		case "unseal":
			var st Status
			st, err = k.Unseal(ctx, req.Key, req.Reset)
			res.Status = &st
		case "seal":
			err = k.Seal(ctx)
		case "seal_records":
			res.Records, err = k.SealRecords(ctx, req.Records)
		case "open_records":
			res.Records, err = k.OpenRecords(ctx, req.Records)
		case "token_hash":
			res.Hash, err = k.TokenHash(ctx, req.Token)
			if err == nil {
				res.RecordKey, err = k.RecordKey(ctx)
				res.KeyGeneration = k.Generation()
			}
		case "record_key":
			res.RecordKey, err = k.RecordKey(ctx)
			res.KeyGeneration = k.Generation()
		case "audit_hmac":
			res.Hashes, err = k.AuditHMAC(ctx, req.Values)
			if err == nil {
				res.ChainKey, err = k.AuditChainKey(ctx)
			}
		case "audit_chain_key":
			res.ChainKey, err = k.AuditChainKey(ctx)
		case "records_due":
			res.RecordsDue, err = k.RecordsDue(ctx)
		case "records_done":
			err = k.RecordsDone(ctx)
		case "engine":
			var answer *EngineResponse
			if answer, err = serveEngine(ctx, k, eng, req.Engine); err == nil {
				return encodeEngineAnswer(answer)
			}
		default:
			err = invalid("unknown vault-crypto operation %q", req.Op)
		}
		if err != nil {
			return nil, TypedError(err)
		}
		return json.Marshal(res)
	}
}

// TypedError unwraps the error a caller must tell apart, so that its type,
// not a wrapper's, crosses the Invoke API.
func TypedError(err error) error {
	var inv *InvalidError
	var up *UpstreamError
	var sealed SealedError
	switch {
	case errors.As(err, &inv):
		return inv
	case errors.As(err, &up):
		return up
	case errors.As(err, &sealed):
		return sealed
	}
	return err
}

// Forgetter is an engine that keeps what it read from storage (transit's
// keys, by revision). It forgets it all when the seal generation changes: a
// snapshot restore can bring back other records under the same revisions,
// and every restore ends sealed, so the next unseal is a new generation.
type Forgetter interface{ Forget() }

// engineSet is the engines of one vault-crypto instance and the seal
// generation they last served under.
type engineSet struct {
	byType     map[string]Engine
	mu         sync.Mutex
	generation int
}

func (s *engineSet) sync(generation int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.generation == generation {
		return
	}
	s.generation = generation
	for _, e := range s.byType {
		if f, ok := e.(Forgetter); ok {
			f.Forget()
		}
	}
}

func serveEngine(ctx context.Context, k *Keeper, engines *engineSet, req *EngineRequest) (*EngineResponse, error) {
	if req == nil {
		return nil, invalid("engine request without a body")
	}
	e, ok := engines.byType[req.Engine]
	if !ok {
		return nil, invalid("no engine %q in vault-crypto", req.Engine)
	}
	// A sealed vault serves no engine, even one that would not touch storage.
	if _, err := k.current(ctx); err != nil {
		return nil, err
	}
	engines.sync(k.Generation())
	res, err := e.Serve(ctx, *req)
	if err != nil {
		return nil, err
	}
	return &res, nil
}

// FromFunctionError restores the typed errors (SealedError, InvalidError)
// that a vault function returned through the Invoke API.
func FromFunctionError(err error) error {
	var fe *invoke.FunctionError
	if errors.As(err, &fe) {
		switch fe.Type {
		case "SealedError":
			return SealedError{}
		case "InvalidError":
			return &InvalidError{Msg: fe.Message}
		case "UpstreamError":
			return &UpstreamError{Msg: fe.Message}
		}
	}
	return err
}

// Client calls vault-crypto through an Invoker.
type Client struct {
	Invoker  invoke.Invoker
	Function string
}

// computeOnly are the operations that change nothing in vault-crypto or
// its storage: asking again is safe whether or not the first call ran.
var computeOnly = map[string]bool{"status": true, "seal_records": true, "open_records": true, "token_hash": true,
	"audit_hmac": true, "audit_chain_key": true, "record_key": true, "records_due": true}

// computeTries bounds the calls of an operation that only computes: each
// environment found without its runtime fails one and starts again, and
// after several instances died at once the next one may be another.
const computeTries = 4

// runtimeDied says an invocation failed because the function's runtime
// process was gone (Lambda's Runtime.ExitError; the emulator's
// Runtime.Failure): an execution environment whose process died, between
// invocations or in this one, fails the invocation that finds it so, and
// then starts again.
func runtimeDied(err error) bool {
	var fe *invoke.FunctionError
	return errors.As(err, &fe) && strings.HasPrefix(fe.Type, "Runtime.")
}

// call invokes vault-crypto, again (up to computeTries) for an operation
// that only computes when the environment that took it had lost its runtime
// process.
func (c *Client) call(ctx context.Context, req Request) (Response, error) {
	req.Generation = GenerationFrom(ctx)
	payload, err := encodeRequest(req)
	if err != nil {
		return Response{}, err
	}
	out, err := c.Invoker.Invoke(ctx, c.Function, payload)
	for try := 1; try < computeTries && err != nil && computeOnly[req.Op] && runtimeDied(err) && ctx.Err() == nil; try++ {
		out, err = c.Invoker.Invoke(ctx, c.Function, payload)
	}
	if err != nil {
		return Response{}, fmt.Errorf("vault-crypto %s: %w", req.Op, FromFunctionError(err))
	}
	var res Response
	if err := json.Unmarshal(out, &res); err != nil {
		return Response{}, fmt.Errorf("vault-crypto %s: bad reply: %w", req.Op, err)
	}
	return res, nil
}

func (c *Client) Status(ctx context.Context) (Status, error) {
	res, err := c.call(ctx, Request{Op: "status"})
	if err != nil || res.Status == nil {
		return Status{}, errors.Join(err, errIfNil(res.Status))
	}
	return *res.Status, nil
}

func (c *Client) Init(ctx context.Context, shares, threshold int) (InitResult, error) {
	res, err := c.call(ctx, Request{Op: "init", Shares: shares, Threshold: threshold})
	if err != nil || res.Init == nil {
		return InitResult{}, errors.Join(err, errIfNil(res.Init))
	}
	return *res.Init, nil
}

func (c *Client) Unseal(ctx context.Context, key string, reset bool) (Status, error) {
	res, err := c.call(ctx, Request{Op: "unseal", Key: key, Reset: reset})
	if err != nil || res.Status == nil {
		return Status{}, errors.Join(err, errIfNil(res.Status))
	}
	return *res.Status, nil
}

func (c *Client) Seal(ctx context.Context) error {
	_, err := c.call(ctx, Request{Op: "seal"})
	return err
}

func (c *Client) SealRecords(ctx context.Context, recs []Record) ([]Record, error) {
	res, err := c.call(ctx, Request{Op: "seal_records", Records: recs})
	return res.Records, err
}

func (c *Client) OpenRecords(ctx context.Context, recs []Record) ([]Record, error) {
	res, err := c.call(ctx, Request{Op: "open_records", Records: recs})
	return res.Records, err
}

func (c *Client) TokenHash(ctx context.Context, token string) (string, error) {
	res, err := c.call(ctx, Request{Op: "token_hash", Token: token})
	return res.Hash, err
}

func (c *Client) AuditHMAC(ctx context.Context, values []string) ([]string, error) {
	hashes, _, err := c.AuditHMACAndChainKey(ctx, values)
	return hashes, err
}

// AuditHMACAndChainKey hashes values for the audit log and returns, in the
// same call, the key that chains its entries.
func (c *Client) AuditHMACAndChainKey(ctx context.Context, values []string) ([]string, []byte, error) {
	res, err := c.call(ctx, Request{Op: "audit_hmac", Values: values})
	if err == nil && len(res.ChainKey) == 0 {
		err = errors.New("vault-crypto audit_hmac: no chain key in the reply")
	}
	return res.Hashes, res.ChainKey, err
}

// TokenHashAndRecordKey is TokenHash with, in the same call, the key that
// MACs authorization records and the seal generation it belongs to.
func (c *Client) TokenHashAndRecordKey(ctx context.Context, token string) (string, []byte, int, error) {
	res, err := c.call(ctx, Request{Op: "token_hash", Token: token})
	if err == nil && len(res.RecordKey) == 0 {
		err = errors.New("vault-crypto token_hash: no record key in the reply")
	}
	return res.Hash, res.RecordKey, res.KeyGeneration, err
}

// RecordKey is the key that MACs authorization records, and the seal
// generation it belongs to.
func (c *Client) RecordKey(ctx context.Context) ([]byte, int, error) {
	res, err := c.call(ctx, Request{Op: "record_key"})
	if err == nil && len(res.RecordKey) == 0 {
		err = errors.New("vault-crypto record_key: empty reply")
	}
	return res.RecordKey, res.KeyGeneration, err
}

// RecordsDue reports whether the one-time re-MAC of records written before
// the current record format is due (see Keeper.RecordsDue).
func (c *Client) RecordsDue(ctx context.Context) (bool, error) {
	res, err := c.call(ctx, Request{Op: "records_due"})
	return res.RecordsDue, err
}

// RecordsDone records that every record is in the current format.
func (c *Client) RecordsDone(ctx context.Context) error {
	_, err := c.call(ctx, Request{Op: "records_done"})
	return err
}

// AuditChainKey is the key that chains the audit log's entries and signs its
// checkpoints.
func (c *Client) AuditChainKey(ctx context.Context) ([]byte, error) {
	res, err := c.call(ctx, Request{Op: "audit_chain_key"})
	if err == nil && len(res.ChainKey) == 0 {
		err = errors.New("vault-crypto audit_chain_key: empty reply")
	}
	return res.ChainKey, err
}

func errIfNil[T any](v *T) error {
	if v == nil {
		return errors.New("vault-crypto: empty reply")
	}
	return nil
}

// Engine passes an engine request to vault-crypto.
func (c *Client) Engine(ctx context.Context, req EngineRequest) (EngineResponse, error) {
	res, err := c.call(ctx, Request{Op: "engine", Engine: &req})
	if err != nil || res.Engine == nil {
		return EngineResponse{}, errors.Join(err, errIfNil(res.Engine))
	}
	return *res.Engine, nil
}
