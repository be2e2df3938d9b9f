package engine

import (
	"fmt"
	"testing"
)

func TestPathsLookup(t *testing.T) {
	table := Paths[string]{
		{Pattern: "keys", Ops: map[string]string{"list": "list keys", "read": "list keys"}},
		{Pattern: "keys/{name}", Ops: map[string]string{"read": "read key", "update": "create key"}},
		{Pattern: "keys/{name}/rotate", Ops: map[string]string{"update": "rotate"}},
		{Pattern: "export/{type}/{name}/{version}", Ops: map[string]string{"read": "export version"}},
		{Pattern: "mounts/{path*}/tune", Ops: map[string]string{AnyOp: "tune"}},
		{Pattern: "mounts/{path*}", Ops: map[string]string{AnyOp: "mount"}},
		{Pattern: "{path*}", Ops: map[string]string{"list": "list all"}},
	}
	for _, c := range []struct{ path, op, want string }{
		{"keys", "list", "list keys []"},
		{"keys", "update", "none"},
		{"keys/k1", "read", "read key [name:k1]"},
		{"keys/", "read", "read key [name:]"},
		{"keys/k1", "delete", "none"},
		{"keys/k1/rotate", "update", "rotate [name:k1]"},
		{"keys/k1/rotate", "read", "none"},
		{"keys/k1/other", "update", "none"},
		{"export/encryption-key/k1/2", "read", "export version [name:k1 type:encryption-key version:2]"},
		{"export/encryption-key/k1", "read", "none"},
		{"mounts/a/b/tune", "PUT", "tune [path:a/b]"},
		{"mounts//tune", "GET", "tune [path:]"},
		{"mounts/tune", "GET", "mount [path:tune]"},
		{"mounts/a/b", "DELETE", "mount [path:a/b]"},
		{"mounts/", "GET", "mount [path:]"},
		{"mounts", "GET", "none"},
		{"", "list", "list all [path:]"},
		{"a/b/c", "list", "list all [path:a/b/c]"},
	} {
		got := "none"
		if h, p, ok := table.Lookup(c.path, c.op); ok {
			got = h + " " + fmt.Sprint(map[string]string(p))[3:] // map[a:b] as [a:b]
		}
		if got != c.want {
			t.Errorf("%s %q: %s, want %s", c.op, c.path, got, c.want)
		}
	}
}
