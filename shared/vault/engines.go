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

// engineBackend serves the requests of a mount type in another function.
type engineBackend interface {
	Engine(ctx context.Context, req keeper.EngineRequest) (keeper.EngineResponse, error)
}

// backend returns the function that serves a mount type, if another one
// does: vault-crypto for transit and pki (their keys live there),
// vault-database for database (its driver lives there). Requests are
// authorized here and served there.
func (s *Server) backend(mountType string) engineBackend {
	switch mountType {
	case "transit", "pki":
		return s.crypto
	case "database":
		return s.leases
	}
	return nil
}

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

// serveEngine passes an authorized request to the function serving the
// mount's type and writes its answer. token is nil on public paths.
func (s *Server) serveEngine(ctx context.Context, w http.ResponseWriter, r *http.Request, m Mount, rest string, token *Token, auth authorizeFunc) error {
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
	if len(bytes.TrimSpace(body)) == 0 {
		body = nil // no data, as Vault reads an empty body
	} else if !json.Valid(body) {
		var v any
		return badRequest("failed to parse JSON input: %s", httpapi.DescribeJSONError(json.Unmarshal(body, &v)))
	}
	req := keeper.EngineRequest{Engine: m.Type, MountUUID: m.UUID, MountPath: m.Path, Operation: operationOf(r), Path: rest, Body: body,
		DefaultLeaseTTL: m.Config.DefaultLeaseTTL, MaxLeaseTTL: m.Config.MaxLeaseTTL}
	if token != nil {
		req.TokenHash, req.DisplayName = token.Hash, token.DisplayName
	}
	backend := s.backend(m.Type)
	res, err := backend.Engine(ctx, req)
	if err == nil && res.Requires != "" {
		if err := auth(res.Requires); err != nil {
			return err
		}
		req.Granted = append(req.Granted, res.Requires)
		res, err = backend.Engine(ctx, req)
	}
	if err != nil {
		return apiError(err)
	}
	return writeEngineResponse(w, res, m.Type)
}

// writeEngineResponse writes an engine's answer in Vault's shape: the
// engines of every mount type (KV, transit, PKI, database) answer through it.
func writeEngineResponse(w http.ResponseWriter, res keeper.EngineResponse, mountType string) error {
	switch {
	case res.Raw != nil:
		w.Header().Set("Content-Type", res.ContentType)
		w.WriteHeader(res.Status)
		_, _ = w.Write(res.Raw)
		return nil
	case res.Status == http.StatusNoContent:
		noContent(w)
		return nil
	case res.Status == http.StatusNotFound && res.Data == nil:
		return errNotFound // Vault's plain miss; a deleted KV version carries its metadata
	case res.Status == http.StatusMethodNotAllowed:
		return errUnsupported
	}
	writeEnvelope(w, res.Status, envelope{Data: json.RawMessage(res.Data), Warnings: res.Warnings, MountType: mountType,
		LeaseID: res.LeaseID, LeaseDuration: res.LeaseDuration, Renewable: res.Renewable})
	return nil
}

// readBody reads a request body whole; the middleware bounds its size.
// A JSON body is bounded by httpapi.DefaultMaxBody even in vault-sys, whose
// routes take larger bodies for a snapshot restore.
func readBody(r *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, httpapi.DefaultMaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large", "request body exceeds %d bytes", mbe.Limit)
		}
		return nil, badRequest("reading request body: %v", err)
	}
	return raw, nil
}
