// Package kv is SecretumVault's key/value secrets engine, versions 1 and 2,
// with Vault's API. It runs in vault-secrets; every value is sealed by the
// barrier through storage.Store. The engine returns values and typed errors:
// package vault authorizes each request and writes Vault's wire shape.
package kv

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// Operations of a Request.
const (
	OpRead   = "read"
	OpList   = "list"
	OpUpdate = "update" // POST and PUT: create or update
	OpPatch  = "patch"
	OpDelete = "delete"
)

// Capabilities the engine asks Request.Authorize for, as Vault names them.
const (
	capCreate = "create"
	capRead   = "read"
	capUpdate = "update"
	capDelete = "delete"
	capList   = "list"
	capPatch  = "patch"
)

// MaxSecret bounds one secret, like Vault's storage entry limit (512 KiB).
const MaxSecret = 512 << 10

const defaultMaxVersions = 10

// Request is one request to a KV mount.
type Request struct {
	MountUUID string // entries live under logical/<uuid>/
	Version   int    // the mount's KV version: 1 or 2
	Operation string // one of the Op constants; "" for a method KV does not serve
	Path      string // below the mount
	Body      []byte
	// ContentType is the body's media type (a PATCH takes only a JSON merge patch).
	ContentType string
	// ReadVersion is a data read's ?version= ("" or "0" is the current one).
	ReadVersion string
	// Authorize checks one capability on the request's path; the engine asks
	// once it knows which applies (create or update depends on whether the
	// secret exists). Its error is returned as it is.
	Authorize func(capability string) error
}

// Engine serves KV mounts.
type Engine struct {
	st *storage.Store
	// The path tables of each version, built by New: package-level tables
	// would link every handler into each binary that imports kv.
	v1 engine.Paths[v1Handler]
	v2 engine.Paths[v2Handler]
	// writeLocks serialize writes to one secret within an instance, striped
	// so that the set stays small.
	writeLocks [256]sync.Mutex
}

// New returns a KV engine over st.
func New(st *storage.Store) *Engine { return &Engine{st: st, v1: v1Paths(), v2: v2Paths()} }

// Serve answers one request: 200 with data, 204, 404 (with data for a
// deleted version, without for a plain miss) or 405 for what KV does not
// serve. Errors are typed: keeper.InvalidError (400), *TooLargeError,
// *ConflictError, *MediaTypeError, the storage's own and Authorize's.
func (e *Engine) Serve(ctx context.Context, req Request) (keeper.EngineResponse, error) {
	if req.Version == 2 {
		return e.serve2(ctx, req)
	}
	return e.serve1(ctx, req)
}

// TooLargeError is a secret over MaxSecret bytes.
type TooLargeError struct{ Limit int }

func (e *TooLargeError) Error() string { return fmt.Sprintf("secret exceeds %d bytes", e.Limit) }

// ConflictError is a write that kept losing to concurrent writers of Key.
type ConflictError struct{ Key string }

func (e *ConflictError) Error() string { return fmt.Sprintf("concurrent update of %q; retry", e.Key) }

// MediaTypeError is a PATCH whose body is not a JSON merge patch.
type MediaTypeError struct{ Got string }

func (e *MediaTypeError) Error() string {
	return fmt.Sprintf("PATCH requires Content-Type %s, got %q", MergePatchType, e.Got)
}

var invalid = engine.Invalid

// checkSize refuses a secret over MaxSecret bytes.
func checkSize(raw []byte) error {
	if len(raw) > MaxSecret {
		return &TooLargeError{Limit: MaxSecret}
	}
	return nil
}

func (e *Engine) stripe(key string) *sync.Mutex {
	h := fnv.New32a()
	h.Write([]byte(key))
	return &e.writeLocks[h.Sum32()%uint32(len(e.writeLocks))]
}

func mountPrefix(uuid string) string { return "logical/" + uuid + "/" }
