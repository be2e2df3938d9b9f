package cuecontract

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"runtime"
	"testing"

	"cuelang.org/go/cue"
)

// A value checked as a tree of JSON data (encoded by CUE) or as its JSON
// (read by CUE's JSON decoder) gets exactly the violations, in the same
// order and words, that its JSON compiled as a CUE file gets (how a check
// built the value before): numbers keep their kind (JSON's 3 is an int, 3.5
// and 1e21 floats).
func TestTreeChecksAsItsJSON(t *testing.T) {
	employee, err := os.ReadFile("../../../schemas/forms/examples/employee.cue")
	if err != nil {
		t.Fatal(err)
	}
	valid := func() map[string]any {
		return map[string]any{"name": "Ada Lovelace", "email": "ada@example.org", "department": "engineering", "team_size": "small",
			"skills": []any{"go", "rust"}, "projects": []any{map[string]any{"project_name": "engine", "project_role": "lead"}}}
	}
	with := func(k string, v any) map[string]any {
		m := valid()
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	bad := valid()
	bad["department"], bad["skills"], bad["name"], bad["email"] = "sales", []any{"go", "cobol"}, "A1", "nope"
	six := []any{}
	for range 6 {
		six = append(six, map[string]any{"project_name": "p"})
	}
	cases := []struct {
		src    string
		values []any
	}{
		{src, []any{
			map[string]any{"kind": "a", "name": "Ada"}, map[string]any{"kind": "a", "name": "ada", "size": 3.0},
			map[string]any{"kind": "a", "name": "ada", "size": 3.5}, map[string]any{"kind": "a", "name": "ada", "size": -1.0},
			map[string]any{"kind": "a", "name": "ada", "size": 1e21}, map[string]any{"kind": "a", "name": "ada", "size": math.Pow(2, 60)},
			map[string]any{"kind": "a", "name": "ada", "size": math.Copysign(0, -1)}, map[string]any{"kind": "c", "name": "ada"},
			map[string]any{"kind": "b", "name": nil}, map[string]any{"kind": "a", "name": "ada", "size": int64(3)},
			map[string]any{"kind": "a", "name": "ada", "size": uint8(0)}, map[string]any{"kind": "a", "name": "ada", "size": -2}, map[string]any{"kind": true, "name": []any{}}, []any{1.0}, "text", 2.0, nil,
		}},
		{string(employee), []any{
			valid(), bad, with("team_size", nil), with("team_size", 5.0), with("team_size", 5.5), with("name", 12.0),
			with("projects", []any{}), with("projects", six), with("projects", "none"), with("department", nil),
			with("projects", []any{map[string]any{"project_name": "", "project_role": "boss"}}), with("extra", 1e-7),
			with("skills", []any{1.0, "go", map[string]any{}}), map[string]any{},
			with("skills", []any(nil)), with("projects", []any{map[string]any(nil)}),
		}},
	}
	for _, tc := range cases {
		c, err := Compile("t.cue", []byte(tc.src))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range tc.values {
			in, err := asInput(v)
			if err != nil || in.data != nil {
				t.Fatalf("%v: not a tree (%v)", v, err)
			}
			data, _ := json.Marshal(v)
			compiled := c.verdict(c.cctx.CompileBytes(data, cue.Filename("value.json")))
			tree, err := c.violations(in)
			if err != nil || !reflect.DeepEqual(tree, compiled) {
				t.Errorf("%s:\n compiled %v\n tree     %v %v", data, compiled, tree, err)
			}
			asJSON, err := c.violations(input{data: data})
			if err != nil || !reflect.DeepEqual(asJSON, compiled) {
				t.Errorf("%s:\n compiled %v\n as JSON  %v %v", data, compiled, asJSON, err)
			}
			if viaJSON, viaTree := c.check(input{data: data}), c.check(in); !reflect.DeepEqual(viaJSON, viaTree) {
				t.Errorf("%s: checked as JSON %v, as a tree %v", data, viaJSON, viaTree)
			}
		}
	}
}

// What is not JSON data is checked through its JSON.
func TestOtherValuesGoThroughJSON(t *testing.T) {
	type row struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
		Size int    `json:"size,omitempty"`
	}
	for _, v := range []any{row{Kind: "a", Name: "ada"}, map[string]any{"kind": "a", "name": "\xff"}, map[string]any{"size": float32(3)}} {
		if in, err := asInput(v); err != nil || in.data == nil {
			t.Errorf("%#v: tree %v, %v", v, in.tree, err)
		}
	}
	c, _ := Compile("t.cue", []byte(src))
	if err := c.Check(row{Kind: "a", Name: "ada"}); err == nil || err.(*Error).Violations[0].Path != "size" {
		t.Fatalf("struct: %v", err)
	}
	if err := c.Check(map[string]any{"size": math.NaN()}); err == nil {
		t.Fatal("NaN checked")
	}
}

// A compiled contract checks value after value without keeping anything of
// them (CUE keeps every file compiled in a context: the JSON compiled as a
// CUE file once per check grew the heap by about 8 KB a check).
func TestChecksKeepNothing(t *testing.T) {
	c, err := Compile("t.cue", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	for _, v := range []any{map[string]any{"kind": "a", "name": "ada", "size": 3.0}, row{Kind: "b", Name: "bob"}} {
		for range 200 { // CUE's caches fill
			_ = c.Check(v)
		}
		before := heap()
		for range 2000 {
			if err := c.Check(v); err != nil {
				t.Fatal(err)
			}
		}
		if grown := int64(heap()) - int64(before); grown > 1<<20 {
			t.Errorf("%T: 2000 checks kept %d KB", v, grown>>10)
		}
	}
}
