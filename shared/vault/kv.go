package vault

import (
	"context"
	"errors"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault/kv"
)

// authorizeFunc checks one capability on the request path; engines call it
// once they know which capability applies (create or update depends on
// whether the secret exists).
type authorizeFunc func(capability string) error

// serveKV passes a request for a KV mount to the KV engine (shared/vault/kv),
// which authorizes it through auth, and writes its answer.
func (s *Server) serveKV(ctx context.Context, w http.ResponseWriter, r *http.Request, m Mount, rest string, auth authorizeFunc) error {
	op := kvOperation(r)
	var body []byte
	if op == kv.OpUpdate || op == kv.OpPatch {
		var err error
		if body, err = readBody(r); err != nil {
			return err
		}
	}
	res, err := s.kv.Serve(ctx, kv.Request{MountUUID: m.UUID, Version: m.kvVersion(), Operation: op, Path: rest, Body: body,
		ContentType: r.Header.Get("Content-Type"), ReadVersion: r.URL.Query().Get("version"), Authorize: auth})
	if err != nil {
		return kvError(err)
	}
	return writeEngineResponse(w, res, "kv")
}

// kvOperation names a request's operation for the KV engine ("" for a
// method it does not serve).
func kvOperation(r *http.Request) string {
	switch {
	case isList(r):
		return kv.OpList
	case r.Method == http.MethodGet:
		return kv.OpRead
	case r.Method == http.MethodPost || r.Method == http.MethodPut:
		return kv.OpUpdate
	case r.Method == http.MethodPatch:
		return kv.OpPatch
	case r.Method == http.MethodDelete:
		return kv.OpDelete
	}
	return ""
}

// kvError maps the KV engine's typed errors to Vault's answers; the rest
// are vault-crypto's (apiError) or the authorization's own.
func kvError(err error) error {
	var big *kv.TooLargeError
	var conflict *kv.ConflictError
	var media *kv.MediaTypeError
	switch {
	case errors.As(err, &big):
		return httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large", "%s", big.Error())
	case errors.As(err, &conflict):
		return httpapi.Errorf(http.StatusConflict, "conflict", "%s", conflict.Error())
	case errors.As(err, &media):
		return httpapi.Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "%s", media.Error())
	}
	return apiError(err)
}
