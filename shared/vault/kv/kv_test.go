package kv

import (
	"encoding/json"
	"fmt"
	"testing"
)

// RFC 7396's own examples (appendix A), as kv patch applies them.
func TestMergePatch(t *testing.T) {
	for _, c := range []struct{ target, patch, want string }{
		{`{"a":"b"}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":"b"}`, `{"b":"c"}`, `{"a":"b","b":"c"}`},
		{`{"a":"b"}`, `{"a":null}`, `{}`},
		{`{"a":"b","b":"c"}`, `{"a":null}`, `{"b":"c"}`},
		{`{"a":["b"]}`, `{"a":"c"}`, `{"a":"c"}`},
		{`{"a":{"b":"c"}}`, `{"a":{"b":"d","c":null}}`, `{"a":{"b":"d"}}`},
		{`{"a":[{"b":"c"}]}`, `{"a":[1]}`, `{"a":[1]}`},
		{`{"e":null}`, `{"a":1}`, `{"a":1,"e":null}`},
		{`{}`, `{"a":{"bb":{"ccc":null}}}`, `{"a":{"bb":{}}}`},
	} {
		var target, patch map[string]any
		_ = json.Unmarshal([]byte(c.target), &target)
		_ = json.Unmarshal([]byte(c.patch), &patch)
		got, _ := json.Marshal(MergePatch(target, patch))
		if string(got) != c.want {
			t.Errorf("%s + %s = %s, want %s", c.target, c.patch, got, c.want)
		}
	}
}

// oldest_version stays 0 until versions are trimmed, as in Vault.
func TestPruneOldestVersion(t *testing.T) {
	meta := &meta{Versions: map[string]*versionMeta{"1": {}, "2": {}, "3": {}}}
	if dropped := prune(meta, 10); len(dropped) != 0 || meta.OldestVersion != 0 {
		t.Fatalf("no trim: %v %d", dropped, meta.OldestVersion)
	}
	if dropped := prune(meta, 2); len(dropped) != 1 || dropped[0] != 1 || meta.OldestVersion != 2 {
		t.Fatalf("trim to 2: %v %d", dropped, meta.OldestVersion)
	}
}

// kv delete/undelete/destroy -versions: the vault CLI sends strings.
func TestCommaInts(t *testing.T) {
	for in, want := range map[string]string{
		`["1", "2"]`: "[1 2]", `[3, 4]`: "[3 4]", `"5,6"`: "[5 6]", `7`: "[7]", `null`: "[]",
		`["x"]`: "error", `[1.5]`: "error", `[-1]`: "error", `{}`: "error",
	} {
		var v any
		_ = json.Unmarshal([]byte(in), &v)
		got, err := commaInts(v)
		if s := fmt.Sprint(got); (err != nil) != (want == "error") || err == nil && s != want {
			t.Errorf("%s: %v %v, want %s", in, got, err, want)
		}
	}
}
