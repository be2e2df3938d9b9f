package form

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func loadExample(t testing.TB) *Form {
	t.Helper()
	f, err := LoadFile("../../../schemas/forms/examples/employee.toml")
	if err != nil {
		t.Fatalf("example form: %v", err)
	}
	return f
}

func TestExampleFormLoads(t *testing.T) {
	f := loadExample(t)
	if f.Form.ID != "example_form" || len(f.Fields()) != 6 {
		t.Fatalf("form %q with %d fields", f.Form.ID, len(f.Fields()))
	}
	p, _ := f.Lookup("projects")
	if lo, hi := p.ItemBounds(); *lo != 1 || *hi != 5 || len(p.Fields) != 2 {
		t.Fatalf("projects group: %v %v %d", *lo, *hi, len(p.Fields))
	}
	if n, _ := f.Lookup("name"); *n.Validation.MinLength != 2 || n.Validation.Pattern == "" {
		t.Fatalf("name rules: %+v", n.Validation)
	}
}

const head = "[form]\nid = \"f\"\nversion = \"1\"\ntitle = \"T\"\n[[sections]]\nid = \"s\"\ntitle = \"S\"\n"

// Each bad definition names its problem at the line and column where it was written.
func TestDefinitionErrorsHavePositions(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"unknown type", "[[sections.fields]]\nid = \"a\"\ntype = \"slider\"\n", `f.toml:10:1: field "a": unknown field type "slider"`},
		{"duplicate id", "[[sections.fields]]\nid = \"a\"\ntype = \"text\"\n[[sections.fields]]\nid = \"a\"\ntype = \"text\"\n", `f.toml:12:1: duplicate field id "a" (first declared at line 8)`},
		{"missing field", "[[sections.fields]]\nid = \"a\"\ntype = \"text\"\ncondition = { field = \"zz\", equals = \"x\" }\n", `f.toml:11:15: field "a": condition refers to missing field "zz"`},
		{"later field", "[[sections.fields]]\nid = \"a\"\ntype = \"text\"\ncondition = { field = \"b\", equals = \"x\" }\n[[sections.fields]]\nid = \"b\"\ntype = \"text\"\n", `f.toml:11:15: field "a": condition refers to field "b", which is declared later`},
		{"bad regex", "[[sections.fields]]\nid = \"a\"\ntype = \"text\"\nvalidation.pattern = \"([a-z\"\n", `f.toml:11:12: field "a": bad pattern`},
		{"min > max", "[[sections.fields]]\nid = \"a\"\ntype = \"number\"\nvalidation = { min = 5, max = 1 }\n", `f.toml:11:16: field "a": min 5 > max 1`},
		{"length min > max", "[[sections.fields]]\nid = \"a\"\ntype = \"text\"\nvalidation.min_length = 9\nvalidation.max_length = 2\n", `f.toml:11:12: field "a": min_length 9 > max_length 2`},
		{"default breaks rule", "[[sections.fields]]\nid = \"a\"\ntype = \"text\"\ndefault = \"x\"\nvalidation.min_length = 3\n", `f.toml:11:1: field "a": default breaks its own rule min_length`},
		{"duplicate option", "[[sections.fields]]\nid = \"a\"\ntype = \"select\"\noptions = [{ value = \"x\", label = \"X\" },\n  { value = \"x\", label = \"Y\" }]\n", `f.toml:12:5: field "a": duplicate option value "x"`},
		{"unknown key", "[[sections.fields]]\nid = \"a\"\ntype = \"text\"\nlabell = \"A\"\n", `f.toml:11:1: unknown key "sections.fields.labell"`},
		{"syntax", "[[sections.fields]]\nid = \n", `f.toml:9:6:`},
		{"nested duplicate", "[[sections.fields]]\nid = \"g\"\ntype = \"group\"\n[[sections.fields.fields]]\nid = \"x\"\ntype = \"text\"\n[[sections.fields.fields]]\nid = \"x\"\ntype = \"text\"\n", `f.toml:15:1: duplicate field id "x"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.toml", []byte(head+c.body))
			var de *DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("want a definition error, got %v", err)
			}
			if !strings.Contains(de.Error(), c.want) {
				t.Fatalf("want %q in\n%s", c.want, de.Error())
			}
		})
	}
}

func TestEveryProblemIsReported(t *testing.T) {
	body := "[[sections.fields]]\nid = \"a\"\ntype = \"slider\"\n[[sections.fields]]\nid = \"b\"\ntype = \"text\"\nvalidation.pattern = \"(\"\n[output]\nformat = \"xml\"\n"
	_, err := Parse("f.toml", []byte(head+body))
	var de *DefinitionError
	if !errors.As(err, &de) || len(de.Problems) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	if de.Problems[2].Line != 16 || !strings.Contains(de.Problems[2].Message, `"xml"`) {
		t.Fatalf("output problem: %+v", de.Problems[2])
	}
}

func FuzzParse(f *testing.F) {
	seed, _ := os.ReadFile("../../../schemas/forms/examples/employee.toml")
	f.Add(seed)
	f.Add([]byte(head + "[[sections.fields]]\nid = \"a\"\ntype = \"group\"\n[[sections.fields.fields]]\nid = \"b\"\n"))
	f.Add([]byte("condition = { all = [{ any = [] }] }"))
	f.Fuzz(func(t *testing.T, data []byte) {
		form, err := Parse("fuzz.toml", data)
		if err == nil {
			form.Check(map[string]any{})
			return
		}
		var de *DefinitionError
		if !errors.As(err, &de) || len(de.Problems) == 0 {
			t.Fatalf("error is not a definition error: %v", err)
		}
		for _, p := range de.Problems {
			if p.Line < 1 || p.Column < 1 {
				t.Fatalf("problem without position: %+v", p)
			}
		}
	})
}
