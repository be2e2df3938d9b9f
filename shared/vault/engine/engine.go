// Package engine holds what the secrets engines that live in vault-crypto
// (transit, pki) share: reading Vault-style request fields and building
// their answers.
package engine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// Invalid is a request an engine refuses: HTTP 400 naming the problem.
func Invalid(format string, args ...any) error {
	return &keeper.InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// First returns the first error, if any: a request is refused for its first
// problem, with the error's own type (an InvalidError stays a 400).
func First(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Fields is a request body. Vault's API accepts numbers and booleans as
// JSON values or as strings, so the getters do too; a value of the wrong
// kind is an error naming the field.
type Fields map[string]any

// ParseFields reads a JSON object body; an empty body has no fields.
func ParseFields(raw []byte) (Fields, error) {
	f := Fields{}
	if err := DecodeJSON(raw, &f); err != nil {
		return nil, err
	}
	return f, nil
}

// DecodeJSON reads an optional JSON body into v: an empty body leaves v as
// it is. Vault ignores fields it does not know, so clients that send more
// keep working; malformed JSON is refused (400).
func DecodeJSON(raw []byte, v any) error {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return Invalid("failed to parse JSON input: %s", httpapi.DescribeJSONError(err))
	}
	return nil
}

// Has reports a field that is present and not null.
func (f Fields) Has(name string) bool { return f[name] != nil }

// String reads a string field ("" when absent).
func (f Fields) String(name string) (string, error) {
	switch v := f[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case float64, bool:
		return fmt.Sprint(v), nil
	}
	return "", Invalid("field %q: expected a string", name)
}

// Int reads an integer field (0 when absent).
func (f Fields) Int(name string) (int, error) {
	switch v := f[name].(type) {
	case nil:
		return 0, nil
	case float64:
		if v == float64(int(v)) {
			return int(v), nil
		}
	case string:
		if v == "" {
			return 0, nil
		}
		if n, err := strconv.Atoi(v); err == nil {
			return n, nil
		}
	}
	return 0, Invalid("field %q: expected an integer", name)
}

// Bool reads a boolean field (false when absent).
func (f Fields) Bool(name string) (bool, error) {
	switch v := f[name].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(v); err == nil {
			return b, nil
		}
	}
	return false, Invalid("field %q: expected a boolean", name)
}

// Duration reads a duration: seconds as a number or string, or a Go
// duration with "d" for days ("72h", "30d").
func (f Fields) Duration(name string) (time.Duration, error) {
	bad := Invalid("field %q: expected a duration such as \"72h\" or a number of seconds", name)
	switch v := f[name].(type) {
	case nil:
		return 0, nil
	case float64:
		if v < 0 {
			return 0, bad
		}
		return time.Duration(v) * time.Second, nil
	case string:
		if v == "" {
			return 0, nil
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			return time.Duration(n) * time.Second, nil
		}
		if days, ok := strings.CutSuffix(v, "d"); ok {
			if n, err := strconv.Atoi(days); err == nil && n >= 0 {
				return time.Duration(n) * 24 * time.Hour, nil
			}
		}
		if d, err := time.ParseDuration(v); err == nil && d >= 0 {
			return d, nil
		}
	}
	return 0, bad
}

// Base64 reads a base64 field, naming it when it is malformed.
func (f Fields) Base64(name string) ([]byte, error) {
	s, err := f.String(name)
	if err != nil || s == "" {
		return nil, err
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, Invalid("failed to base64-decode %s", name)
	}
	return b, nil
}

// Strings reads a list given as a JSON array or a comma-separated string.
func (f Fields) Strings(name string) ([]string, error) {
	switch v := f[name].(type) {
	case nil:
		return nil, nil
	case string:
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, Invalid("field %q: expected a list of strings", name)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, Invalid("field %q: expected a list of strings", name)
}

// Batch reads batch_input: a list of objects, each a Fields of its own.
func (f Fields) Batch() ([]Fields, bool, error) {
	v, ok := f["batch_input"]
	if !ok || v == nil {
		return nil, false, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, true, Invalid("field \"batch_input\": expected a list of objects")
	}
	out := make([]Fields, len(list))
	for i, x := range list {
		m, ok := x.(map[string]any)
		if !ok {
			return nil, true, Invalid("batch_input item %d: expected an object", i)
		}
		out[i] = m
	}
	return out, true, nil
}

// OK answers 200 with data.
func OK(data any) (keeper.EngineResponse, error) {
	return WithStatus(http.StatusOK, data)
}

// WithStatus answers status with data (a batch with failed items is a 400
// that still carries its results).
func WithStatus(status int, data any) (keeper.EngineResponse, error) {
	raw, err := json.Marshal(data)
	if err != nil {
		return keeper.EngineResponse{}, fmt.Errorf("encode engine response: %w", err)
	}
	return keeper.EngineResponse{Status: status, Data: raw}, nil
}

// NoContent answers 204.
func NoContent() (keeper.EngineResponse, error) {
	return keeper.EngineResponse{Status: http.StatusNoContent}, nil
}

// NotFound answers Vault's plain miss: 404 with no errors.
func NotFound() (keeper.EngineResponse, error) {
	return keeper.EngineResponse{Status: http.StatusNotFound}, nil
}

// Unsupported answers a path or method the engine does not serve.
func Unsupported() (keeper.EngineResponse, error) {
	return keeper.EngineResponse{Status: http.StatusMethodNotAllowed}, nil
}

// Granted reports whether the caller was checked for capability.
func Granted(req keeper.EngineRequest, capability string) bool {
	for _, c := range req.Granted {
		if c == capability {
			return true
		}
	}
	return false
}

// PublicPKIPath reports the PKI paths read without a token, as in Vault: the
// CA, its chain, the CRL and certificates are public by nature.
func PublicPKIPath(path string) bool {
	switch path {
	case "ca", "ca/pem", "ca_chain", "crl", "crl/pem", "cert/ca", "cert/ca_chain", "cert/crl":
		return true
	}
	return strings.HasPrefix(path, "cert/") && strings.Count(path, "/") == 1
}

// Set reads the field name into dst when the request has it, leaving dst
// alone otherwise (a partial update). dst is a *string, *bool, *int,
// *[]string or *time.Duration.
func (f Fields) Set(name string, dst any) error {
	if !f.Has(name) {
		return nil
	}
	var err error
	switch d := dst.(type) {
	case *string:
		*d, err = f.String(name)
	case *bool:
		*d, err = f.Bool(name)
	case *int:
		*d, err = f.Int(name)
	case *[]string:
		*d, err = f.Strings(name)
	case *time.Duration:
		*d, err = f.Duration(name)
	default:
		panic(fmt.Sprintf("engine.Fields.Set: unsupported destination %T", dst))
	}
	return err
}

// ListKeys answers a LIST: the names under prefix, or Vault's plain 404 when
// there are none.
func ListKeys(ctx context.Context, st *storage.Store, prefix string) (keeper.EngineResponse, error) {
	keys, err := st.List(ctx, prefix)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if len(keys) == 0 {
		return NotFound()
	}
	return OK(map[string]any{"keys": keys})
}
