package contract

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestExampleContract(t *testing.T) {
	ok := map[string]any{"name": "Ada Lovelace", "email": "ada@example.org", "department": "engineering",
		"team_size": "small", "projects": []any{map[string]any{"project_name": "engine"}}}
	ref := "cue://schemas/forms/examples/employee.cue"
	if err := Check(context.Background(), ref, ok, "../../.."); err != nil {
		t.Fatal(err)
	}
	bad := map[string]any{"name": "A", "email": "ada", "department": "engineering", "projects": []any{}}
	err := Check(context.Background(), ref, bad, "../../..")
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("want contract violations, got %v", err)
	}
	text := ce.Error()
	for _, want := range []string{"name:", "email:", "projects:"} {
		if !strings.Contains(text, want) {
			t.Errorf("violation %q missing from %s", want, text)
		}
	}
}

// Every project is checked, the first one as the others.
func TestEveryProjectIsChecked(t *testing.T) {
	for _, projects := range [][]any{
		{map[string]any{"project_name": "", "project_role": "boss"}},
		{map[string]any{"project_name": "engine"}, map[string]any{"project_name": ""}},
	} {
		vals := map[string]any{"name": "Ada Lovelace", "email": "ada@example.org", "department": "design", "projects": projects}
		err := Check(context.Background(), "cue://schemas/forms/examples/employee.cue", vals, "../../..")
		if err == nil || !strings.Contains(err.Error(), "project_name") {
			t.Errorf("projects %v: want a project_name violation, got %v", projects, err)
		}
	}
}

// Engineering answers must name a team size (a conditional constraint).
func TestConditionalConstraint(t *testing.T) {
	vals := map[string]any{"name": "Ada Lovelace", "email": "ada@example.org", "department": "engineering",
		"projects": []any{map[string]any{"project_name": "engine"}}}
	err := Check(context.Background(), "cue://schemas/forms/examples/employee.cue", vals, "../../..")
	if err == nil || !strings.Contains(err.Error(), "team_size") {
		t.Fatalf("want team_size violation, got %v", err)
	}
}

func TestNickelWithoutBinary(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	err := Check(context.Background(), "nickel://contract_test.go", map[string]any{})
	if !errors.Is(err, ErrNoNickel) {
		t.Fatalf("want ErrNoNickel, got %v", err)
	}
}
