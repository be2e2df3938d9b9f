package surreal_test

import (
	"context"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// A time.Time given as a query variable keeps its sub-seconds, at the top,
// in a map and in a list (the SDK alone cut them to whole seconds).
func TestTimesKeepTheirNanoseconds(t *testing.T) {
	c := client(t, "t_times")
	at := time.Date(2026, 11, 30, 9, 0, 0, 123456789, time.UTC)
	for name, v := range map[string]any{"plain": at, "pointer": &at, "in a map": map[string]any{"at": at},
		"in a list": []any{"x", at}, "in a batch": []map[string]any{{"at": at}, {"at": at}}} {
		got, err := surreal.Query[string](context.Background(), c,
			"RETURN <string> (IF type::is_array($v) { IF type::is_object($v[1]) { $v[1].at } ELSE { $v[1] } } ELSE IF type::is_object($v) { $v.at } ELSE { $v })", map[string]any{"v": v})
		if err != nil || got != "2026-11-30T09:00:00.123456789Z" {
			t.Errorf("%s: %q %v", name, got, err)
		}
	}
}
