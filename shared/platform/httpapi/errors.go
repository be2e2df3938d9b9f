// Package httpapi turns API Gateway HTTP API (payload v2) events into net/http
// requests and back, and gives every HTTP function the same behaviour: request
// ids, JSON errors, strict JSON bodies with a size limit, logs and metrics.
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Error is an error with an HTTP status and a stable machine-readable code.
type Error struct {
	Status  int
	Code    string
	Message string
	Err     error // the cause, logged but not sent
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a formatted message.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// BadRequest is a 400 with code "bad_request".
func BadRequest(format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, "bad_request", format, args...)
}

// NotFound is a 404 with code "not_found".
func NotFound(format string, args ...any) *Error {
	return Errorf(http.StatusNotFound, "not_found", format, args...)
}

// StatusCoder is implemented by errors of other packages that know their HTTP
// status (surreal's unavailability is a 503) without importing this package.
type StatusCoder interface{ HTTPStatus() int }

// ErrorWriter writes an error response; systems with an established wire shape
// (the vault speaks Vault's {"errors":[...]}) supply their own.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, status int, code, message string)

// WriteJSONError writes {"error":{"code","message"}}, the default shape.
func WriteJSONError(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	type body struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id,omitempty"`
	}
	WriteJSON(w, status, map[string]body{"error": {Code: code, Message: message, RequestID: w.Header().Get(RequestIDHeader)}})
}

// Classify maps any error to a status, code and message that is safe to send:
// *Error as it is, StatusCoder errors by their status, anything else 500 with a
// generic message (the detail goes to the log only).
func Classify(err error) (status int, code, message string) {
	var he *Error
	if errors.As(err, &he) {
		return he.Status, he.Code, he.Message
	}
	var sc StatusCoder
	if errors.As(err, &sc) {
		s := sc.HTTPStatus()
		return s, codeFor(s), http.StatusText(s)
	}
	return http.StatusInternalServerError, "internal", "internal error"
}

func codeFor(status int) string {
	switch status {
	case http.StatusServiceUnavailable:
		return "unavailable"
	case http.StatusNotFound:
		return "not_found"
	case http.StatusMethodNotAllowed:
		return "method_not_allowed"
	case http.StatusConflict:
		return "conflict"
	case http.StatusRequestEntityTooLarge:
		return "too_large"
	}
	if status >= 500 {
		return "internal"
	}
	return "bad_request"
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
