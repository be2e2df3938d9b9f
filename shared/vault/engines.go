package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// cryptoEngines are the mount types whose keys live in vault-crypto: their
// requests are authorized here and served there.
var cryptoEngines = map[string]bool{"transit": true, "pki": true}

// operationOf names a request's logical operation for an engine.
func operationOf(r *http.Request) string {
	switch {
	case isList(r):
		return "list"
	case r.Method == http.MethodGet || r.Method == http.MethodHead:
		return "read"
	case r.Method == http.MethodDelete:
		return "delete"
	}
	return "update"
}

// serveCryptoEngine passes an authorized request to vault-crypto and writes its answer.
func (s *Server) serveCryptoEngine(ctx context.Context, w http.ResponseWriter, r *http.Request, m Mount, rest string, auth authorizeFunc) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodDelete, "LIST":
	default:
		return errUnsupported
	}
	if err := auth(capabilityOf(r)); err != nil {
		return err
	}
	body, err := readBody(r)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(body)) > 0 && !json.Valid(body) {
		var v any
		return badRequest("failed to parse JSON input: %v", json.Unmarshal(body, &v))
	}
	req := keeper.EngineRequest{Engine: m.Type, MountUUID: m.UUID, Operation: operationOf(r), Path: rest, Body: body}
	res, err := s.crypto.Engine(ctx, req)
	if err == nil && res.Requires != "" {
		if err := auth(res.Requires); err != nil {
			return err
		}
		req.Granted = append(req.Granted, res.Requires)
		res, err = s.crypto.Engine(ctx, req)
	}
	if err != nil {
		return apiError(err)
	}
	switch {
	case res.Raw != nil:
		w.Header().Set("Content-Type", res.ContentType)
		w.WriteHeader(res.Status)
		_, _ = w.Write(res.Raw)
		return nil
	case res.Status == http.StatusNoContent:
		noContent(w)
		return nil
	case res.Status == http.StatusNotFound:
		return errNotFound
	case res.Status == http.StatusMethodNotAllowed:
		return errUnsupported
	}
	httpapi.WriteJSON(w, res.Status, envelope{RequestID: w.Header().Get(httpapi.RequestIDHeader),
		Data: json.RawMessage(res.Data), Warnings: res.Warnings, MountType: m.Type})
	return nil
}

// readBody reads a request body whole; the middleware bounds its size.
func readBody(r *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large", "request body exceeds %d bytes", mbe.Limit)
		}
		return nil, badRequest("reading request body: %v", err)
	}
	return raw, nil
}
