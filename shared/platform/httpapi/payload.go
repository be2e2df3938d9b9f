package httpapi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"time"
)

// LambdaMaxResponse is Lambda's synchronous response payload limit ("6 MB"):
// the figure its Function.ResponseSizeTooLarge error names, 6 MiB plus 100
// bytes. API Gateway answers a larger response with a 500.
const LambdaMaxResponse = 6291556

// PayloadSize is what v, answered as JSON, adds to a Lambda response
// payload: its JSON, which the API Gateway response carries as its body
// string, so escaped once more (a quote or a backslash takes a byte more).
func PayloadSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b) + bytes.Count(b, []byte{'"'}) + bytes.Count(b, []byte{'\\'})
}

// PayloadBound is at least PayloadSize(v), found without encoding v, for
// an answer that is measured only when it might be large: a byte of a
// string takes at most 7 bytes of payload (\u00XX, its backslash escaped
// once more), a field's name 7 a byte and a few more, a number, a time or
// punctuation a bounded few. A value that encodes itself (json.Marshaler,
// other than time.Time) is measured.
func PayloadBound(v any) int { return valueBound(reflect.ValueOf(v)) }

var (
	marshalerType = reflect.TypeFor[json.Marshaler]()
	timeType      = reflect.TypeFor[time.Time]()
)

func valueBound(v reflect.Value) int {
	const scalar = 64
	if !v.IsValid() {
		return scalar
	}
	t := v.Type()
	switch {
	case t == timeType:
		return scalar
	case t.Implements(marshalerType) || reflect.PointerTo(t).Implements(marshalerType) && t.Kind() != reflect.Pointer:
		return PayloadSize(v.Interface())
	}
	switch v.Kind() {
	case reflect.String:
		return 7*v.Len() + 4
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return scalar
		}
		return valueBound(v.Elem())
	case reflect.Slice, reflect.Array:
		n := 4
		for i := range v.Len() {
			n += valueBound(v.Index(i)) + 2
		}
		return n
	case reflect.Map:
		n := 4
		for it := v.MapRange(); it.Next(); {
			n += valueBound(it.Key()) + valueBound(it.Value()) + 4
		}
		return n
	case reflect.Struct:
		n := 4
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() || f.Anonymous {
				n += 7*(len(f.Name)+len(f.Tag)) + 8 + valueBound(v.Field(i))
			}
		}
		return n
	}
	return scalar
}
