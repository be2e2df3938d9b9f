package cuecontract

import (
	"errors"
	"strings"
	"testing"
)

const src = `kind: "a" | "b"
name: string & =~"^[a-z]+$"
size?: int & >0
if kind == "a" {
	size!: _
}
`

// Every failing field is named at once, the conditional requirement that
// CUE reports only when nothing worse is wrong included; a valid value
// passes, from the same compiled contract.
func TestCheckNamesEveryFailingField(t *testing.T) {
	c, err := Compile("t.cue", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check(map[string]any{"kind": "a", "name": "Ada"})
	var ce *Error
	if !errors.As(err, &ce) || len(ce.Violations) != 2 || ce.Violations[0].Path != "name" || ce.Violations[1].Path != "size" {
		t.Fatalf("violations: %v", err)
	}
	if err := c.Check(map[string]any{"kind": "a", "name": "ada", "size": 3}); err != nil {
		t.Fatal(err)
	}
	if err := c.Check(map[string]any{"kind": "b", "name": "ada"}); err != nil {
		t.Fatal(err)
	}
	// A wrong kind leaves the comprehension unresolved: only kind is named
	// (once per alternative it conflicts with).
	if err := c.Check(map[string]any{"kind": "c", "name": "ada"}); !errors.As(err, &ce) || len(ce.Violations) == 0 {
		t.Fatalf("wrong kind: %v", err)
	}
	for _, v := range ce.Violations {
		if v.Path != "kind" {
			t.Errorf("wrong kind: %+v", ce.Violations)
		}
	}
}

func TestCompileNamesTheLine(t *testing.T) {
	if _, err := Compile("t.cue", []byte("a: 1\nb: int &\n")); err == nil || !strings.Contains(err.Error(), "t.cue:2:") {
		t.Fatalf("parse error: %v", err)
	}
	if _, err := Compile("t.cue", []byte("a: 1\na: 2\n")); err == nil || !strings.Contains(err.Error(), "t.cue:2:4") {
		t.Fatalf("conflict: %v", err)
	}
}
