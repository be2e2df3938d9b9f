// Package vault is SecretumVault's HTTP side: the Vault/OpenBao-compatible
// API of vault-sys (init, unseal, seal, health, mounts, Cedar policies) and
// vault-secrets (tokens, and the mounts of every engine: KV in this function,
// shared/vault/kv; transit and PKI in vault-crypto; database in
// vault-database). It never holds keys: it asks vault-crypto
// (shared/vault/keeper) to hash tokens and to seal and open every value.
package vault

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// Version is reported by seal-status and health.
const Version = "2.6.2+stratum"

// envelope is Vault's response shape.
type envelope struct {
	RequestID     string   `json:"request_id"`
	LeaseID       string   `json:"lease_id"`
	Renewable     bool     `json:"renewable"`
	LeaseDuration int      `json:"lease_duration"`
	Data          any      `json:"data"`
	WrapInfo      any      `json:"wrap_info"`
	Warnings      []string `json:"warnings"`
	Auth          any      `json:"auth"`
	MountType     string   `json:"mount_type"`
}

func respond(w http.ResponseWriter, status int, data, auth any, mountType string) {
	writeEnvelope(w, status, envelope{Data: data, Auth: auth, MountType: mountType})
}

// writeEnvelope writes e with the request's id. An engine's answer (data
// as json.RawMessage, which the engine encoded) goes in as it is, not
// scanned again (see shared/vault/keeper/wire.go).
func writeEnvelope(w http.ResponseWriter, status int, e envelope) {
	e.RequestID = w.Header().Get(httpapi.RequestIDHeader)
	raw, ok := e.Data.(json.RawMessage)
	if !ok || len(raw) == 0 {
		httpapi.WriteJSON(w, status, e)
		return
	}
	body, err := spliceData(e, raw)
	if err != nil {
		httpapi.WriteJSON(w, status, e)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// nullData is how json.Marshal writes an envelope without data.
var nullData = []byte(`"data":null`)

// spliceData encodes e with raw as its data. The first "data":null of the
// encoded envelope is its own member: the members before it are two
// strings (in which every quote is escaped), a bool and a number.
func spliceData(e envelope, raw json.RawMessage) ([]byte, error) {
	e.Data = nil
	head, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	at := bytes.Index(head, nullData)
	out := make([]byte, 0, len(head)+len(raw)+1)
	out = append(out, head[:at+len(nullData)-len("null")]...)
	out = append(out, raw...)
	out = append(out, head[at+len(nullData):]...)
	return append(out, '\n'), nil
}

func noContent(w http.ResponseWriter) { w.WriteHeader(http.StatusNoContent) }

// Errors is the vault's error shape, Vault's own.
var Errors = httpapi.ErrorFormat{Write: WriteError, Body: ErrorResponse{}}

// ErrorResponse is the body WriteError writes.
type ErrorResponse struct {
	Errors []string `json:"errors"`
}

// WriteError writes Vault's error shape {"errors":[...]}; a plain miss has none.
func WriteError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	errs := []string{}
	if message != "" {
		errs = append(errs, message)
	}
	httpapi.WriteJSON(w, status, ErrorResponse{Errors: errs})
}

var (
	errPermissionDenied = httpapi.Errorf(http.StatusForbidden, "permission_denied", "permission denied")
	errBadToken         = httpapi.Errorf(http.StatusForbidden, "permission_denied", "bad token")
	errSealed           = httpapi.Errorf(http.StatusServiceUnavailable, "sealed", "Vault is sealed")
	errNotFound         = &httpapi.Error{Status: http.StatusNotFound, Code: "not_found"}
	errUnsupported      = httpapi.Errorf(http.StatusMethodNotAllowed, "unsupported", "unsupported operation")
)

func badRequest(format string, args ...any) error { return httpapi.BadRequest(format, args...) }

// apiError maps vault-crypto's typed errors to their HTTP answers.
func apiError(err error) error {
	var inv *keeper.InvalidError
	var up *keeper.UpstreamError
	switch {
	case err == nil:
		return nil
	case errors.As(err, new(keeper.SealedError)):
		return errSealed
	case errors.As(err, &inv):
		return httpapi.BadRequest("%s", inv.Msg)
	case errors.As(err, &up):
		return httpapi.Errorf(http.StatusBadGateway, "upstream", "%s", up.Msg)
	}
	return err
}

// decodeBody reads an optional JSON object body. Vault ignores fields it does
// not know, so clients that send more keep working; malformed JSON is a 400.
func decodeBody(r *http.Request, v any) error {
	raw, err := readBody(r)
	if err != nil {
		return err
	}
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return badRequest("failed to parse JSON input: %s", httpapi.DescribeJSONError(err))
	}
	return nil
}

// requestToken reads X-Vault-Token or an Authorization: Bearer token.
func requestToken(r *http.Request) string {
	if t := r.Header.Get("X-Vault-Token"); t != "" {
		return t
	}
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		return strings.TrimSpace(strings.TrimPrefix(auth, "Bearer "))
	}
	return ""
}

// isList reports a LIST request: the LIST method or GET ?list=true.
func isList(r *http.Request) bool {
	return r.Method == "LIST" || (r.Method == http.MethodGet && r.URL.Query().Get("list") == "true")
}

// parseDuration reads a Vault duration (engine.ParseDuration).
func parseDuration(v any) (time.Duration, error) { return engine.ParseDuration(v) }

// vaultTime formats times as Vault does (engine.VaultTime).
func vaultTime(t time.Time) string { return engine.VaultTime(t) }
