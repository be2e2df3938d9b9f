package cuecontract

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/big"
	"strconv"
	"unicode/utf8"

	"cuelang.org/go/cue"
	cuejson "cuelang.org/go/encoding/json"
)

// input is a value to check: a tree of JSON data (maps, lists, strings,
// booleans, numbers and nulls, as encoding/json decodes into any) that CUE
// encodes directly, or else the value's JSON, which CUE reads as JSON. Both
// give CUE the value its JSON is; the tree skips printing and parsing JSON
// (most of the CPU a check of a form's answers spent before unifying).
type input struct {
	tree any    // the value with its numbers as CUE reads their JSON (tree set)
	data []byte // else the value's JSON
}

// asInput takes value as a tree when it is JSON data, else as its JSON.
func asInput(value any) (input, error) {
	if tree, ok := cueTree(value); ok {
		return input{tree: tree}, nil
	}
	data, err := json.Marshal(value)
	if err != nil {
		return input{}, fmt.Errorf("encode value: %w", err)
	}
	return input{data: data}, nil
}

// value builds the input in cctx. Neither way adds to cctx's state: a
// compiled contract checks many values, and CUE keeps every file compiled
// in a context (CompileBytes: about 8 KB a check of a form's answers, and
// each check slower than the last).
func (in input) value(cctx *cue.Context) (cue.Value, error) {
	if in.data == nil {
		return cctx.Encode(in.tree), nil
	}
	expr, err := cuejson.Extract("value.json", in.data)
	if err != nil {
		return cue.Value{}, err
	}
	return cctx.BuildExpr(expr), nil
}

// without is the object without the top-level fields named; false when
// the value is not an object.
func (in input) without(named map[string]bool) (input, bool, error) {
	if in.data == nil {
		obj, ok := in.tree.(map[string]any)
		if !ok {
			return in, false, nil
		}
		obj = maps.Clone(obj)
		for k := range named {
			delete(obj, k)
		}
		return input{tree: obj}, true, nil
	}
	var obj map[string]any
	if json.Unmarshal(in.data, &obj) != nil {
		return in, false, nil
	}
	for k := range named {
		delete(obj, k)
	}
	data, err := json.Marshal(obj)
	if err != nil {
		return in, false, fmt.Errorf("encode value: %w", err)
	}
	return input{data: data}, true, nil
}

// cueTree copies JSON data into what cue.Context.Encode turns into the
// value CUE compiles from the data's JSON: a float64 that encoding/json
// prints without a fraction or exponent becomes an integer (JSON's 5 is an
// int in CUE, 5.5 a float), and Go's integers are integers. Anything else
// (structs, float32, strings that are not UTF-8, NaN) is not a tree: false.
func cueTree(v any) (any, bool) {
	switch x := v.(type) {
	case nil, bool:
		return x, true
	case string:
		return x, utf8.ValidString(x)
	case float64:
		return jsonNumber(x)
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return x, true
	case []any:
		if x == nil {
			return nil, true // null, as its JSON is
		}
		out := make([]any, len(x))
		for i, e := range x {
			var ok bool
			if out[i], ok = cueTree(e); !ok {
				return nil, false
			}
		}
		return out, true
	case map[string]any:
		if x == nil {
			return nil, true
		}
		out := make(map[string]any, len(x))
		for k, e := range x {
			t, ok := cueTree(e)
			if !ok || !utf8.ValidString(k) {
				return nil, false
			}
			out[k] = t
		}
		return out, true
	}
	return nil, false
}

// maxExactInt is 2^53: every whole float64 below it is an int64.
const maxExactInt = 1 << 53

// jsonNumber is f as CUE reads encoding/json's text of it: a whole number
// below 1e21 is printed as digits (an int), anything else keeps a fraction
// or an exponent (a float).
func jsonNumber(f float64) (any, bool) {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return nil, false
	case f != math.Trunc(f) || math.Abs(f) >= 1e21:
		return f, true
	case math.Abs(f) < maxExactInt:
		return int64(f), true
	}
	n, ok := new(big.Int).SetString(strconv.FormatFloat(f, 'f', -1, 64), 10)
	return n, ok
}
