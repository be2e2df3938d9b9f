package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// DecodeJSON reads the request body into v strictly: one JSON value, no unknown
// fields, types as declared. Every failure is a 4xx *Error that names the problem
// (413 when the body exceeds the limit set by the middleware).
func DecodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		// curl -d sends form-urlencoded by default; the body is still JSON, as Vault users expect.
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json") && mt != "application/x-www-form-urlencoded") {
			return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
				"content type %q is not JSON", ct)
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err != nil {
			if e := tooLarge(err); e != nil {
				return e
			}
		}
		return BadRequest("request body must hold a single JSON value")
	}
	return nil
}

func decodeError(err error) error {
	if e := tooLarge(err); e != nil {
		return e
	}
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return BadRequest("request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("malformed JSON: unexpected end of input")
	case errors.As(err, &syntax):
		return BadRequest("malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typeErr):
		return BadRequest("%s", DescribeJSONError(err))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return BadRequest("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return BadRequest("malformed JSON: %v", err)
}

// DescribeJSONError words a JSON decoding error in JSON's terms: a value of
// the wrong type names its field and the JSON kind wanted ("field \"data\":
// want object, got string"), not Go's types.
func DescribeJSONError(err error) string {
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	if typeErr.Field == "" {
		return fmt.Sprintf("request body must be a JSON %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
	}
	return fmt.Sprintf("field %q: want %s, got %s", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value)
}

func tooLarge(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return Errorf(http.StatusRequestEntityTooLarge, "too_large", "request body exceeds %d bytes", mbe.Limit)
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "integer"
	case "float32", "float64":
		return "number"
	case "map", "struct":
		return "object"
	case "slice", "array":
		return "array"
	}
	return goKind
}

// Require returns a 400 naming the first empty required field.
func Require(fields ...Field) error {
	for _, f := range fields {
		if f.Empty {
			return BadRequest("field %q is required", f.Name)
		}
	}
	return nil
}

// Field is a named required-field check for Require.
type Field struct {
	Name  string
	Empty bool
}

// Str checks that a string field is not blank.
func Str(name, value string) Field { return Field{Name: name, Empty: strings.TrimSpace(value) == ""} }

// QueryInt parses an optional integer query parameter within [min, max].
func QueryInt(r *http.Request, name string, def, min, max int) (int, error) {
	raw := r.URL.Query().Get(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil {
		return 0, BadRequest("query parameter %q: %q is not an integer", name, raw)
	}
	if n < min || n > max {
		return 0, BadRequest("query parameter %q: %d is outside [%d, %d]", name, n, min, max)
	}
	return n, nil
}
