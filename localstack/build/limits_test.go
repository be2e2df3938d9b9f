package build

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// Each catalog function has a limit: its kind's (a WebSocket API's handler
// counts as HTTP), or an honest one that is above its kind's (an exception
// no larger than the kind's limit is stale).
func TestLimits(t *testing.T) {
	for _, f := range catalog.Functions {
		kind := int64(EventLimit)
		switch {
		case f.Image:
			kind = ImageLimit
		case f.Kind == catalog.HTTP || f.Name == "vapora-live":
			kind = HTTPLimit
		}
		got := Limit(f.Name)
		if l, ok := overLimit[f.Name]; ok && l <= kind {
			t.Errorf("%s: exception %d is not above its kind's limit %d: remove it", f.Name, l, kind)
		}
		if _, ok := overLimit[f.Name]; !ok && got != kind {
			t.Errorf("%s: limit %d, want %d", f.Name, got, kind)
		}
	}
	for name := range overLimit {
		if _, ok := catalog.Lookup(name); !ok {
			t.Errorf("limit for %q, which the catalog does not list", name)
		}
	}
	if Limit("typedialog-contract") != ImageLimit {
		t.Errorf("typedialog-contract (an image) has limit %d, want %d", Limit("typedialog-contract"), ImageLimit)
	}
	if Limit("no-such-function") != 0 {
		t.Error("a function outside the catalog has a limit")
	}
}

func TestOverLimitAndTable(t *testing.T) {
	results := []Result{{Function: "small", Size: 1 << 20, Limit: 2 << 20}, {Function: "big", Size: 3 << 20, Limit: 2 << 20},
		{Function: "free", Size: 9 << 20}}
	over := OverLimit(results)
	if len(over) != 1 || over[0].Function != "big" {
		t.Fatalf("over: %+v", over)
	}
	var out bytes.Buffer
	PrintTable(&out, results)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[1], "free") || !strings.Contains(lines[2], "3.0 MB  2.0 MB  OVER") || !strings.Contains(lines[1], "n/a") {
		t.Fatalf("table:\n%s", out.String())
	}
}
