package surreal

import (
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"
)

// exactTimes returns vars with every time.Time (at the top, in maps, in []any
// and in []map[string]any) as SurrealDB's own datetime: the SDK encodes a time.Time as an
// RFC 3339 string with whole seconds (its CBOR TimeRFC3339 mode), so
// 09:00:00.123 arrived as 09:00:00 and events of one second lost their
// order. A time.Time inside a struct is not reached: such fields are
// models.CustomDateTime. vars itself is not changed.
func exactTimes(vars map[string]any) map[string]any {
	if !hasTime(vars) {
		return vars
	}
	out := make(map[string]any, len(vars))
	for k, v := range vars {
		out[k] = exactTime(v)
	}
	return out
}

func exactTime(v any) any {
	switch x := v.(type) {
	case time.Time:
		return models.CustomDateTime{Time: x}
	case *time.Time:
		if x == nil {
			return x
		}
		return models.CustomDateTime{Time: *x}
	case map[string]any:
		return exactTimes(x)
	case []any:
		if !hasTime(x) {
			return x
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = exactTime(e)
		}
		return out
	case []map[string]any:
		if !hasTime(x) {
			return x
		}
		out := make([]map[string]any, len(x))
		for i, e := range x {
			out[i] = exactTimes(e)
		}
		return out
	}
	return v
}

// hasTime reports whether v holds a time.Time that exactTime would convert.
func hasTime(v any) bool {
	switch x := v.(type) {
	case time.Time, *time.Time:
		return true
	case map[string]any:
		for _, e := range x {
			if hasTime(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasTime(e) {
				return true
			}
		}
	case []map[string]any:
		for _, e := range x {
			if hasTime(e) {
				return true
			}
		}
	}
	return false
}
