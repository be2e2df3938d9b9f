package tmpl

import (
	"errors"
	"testing"
)

func TestTemplate(t *testing.T) {
	src := []byte("Hello {{ name }}\n{% for s in skills %}- {{ s }}\n{% endfor %}")
	out, err := RenderTemplate("t.tera", src, map[string]any{"name": "Ada", "skills": []any{"go", "rust"}})
	if err != nil || string(out) != "Hello Ada\n- go\n- rust\n" {
		t.Fatalf("%q %v", out, err)
	}
	_, err = RenderTemplate("bad.tera", []byte("ok\nok\n{% if %}x{% endif %}"), nil)
	var te *TemplateError
	if !errors.As(err, &te) || te.Line != 3 || te.Template != "bad.tera" {
		t.Fatalf("want a template error at line 3, got %v", err)
	}
	_, err = RenderTemplate("inc.tera", []byte(`{% include "/etc/passwd" %}`), nil)
	if !errors.As(err, &te) {
		t.Fatalf("include allowed: %v", err)
	}
}
