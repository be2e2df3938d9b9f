package tmpl

import (
	"errors"
	"strings"
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

// A template cannot read the server's files (ssi, include, import,
// extends); values are escaped only in HTML and XML templates, as Tera does;
// whole numbers from JSON render as whole numbers.
func TestTemplatesStayInTheirLane(t *testing.T) {
	for _, src := range []string{`{% ssi "/etc/passwd" %}`, `{% ssi "/etc/passwd" parsed %}`, `{% include "/etc/passwd" %}`,
		`{% import "/etc/passwd" x %}`, `{% extends "/etc/passwd" %}`} {
		if out, err := RenderTemplate("t.tera", []byte(src), nil); err == nil || strings.Contains(string(out), "root:") {
			t.Errorf("%s: %q %v", src, out, err)
		}
	}
	values := map[string]any{"pw": `a&b<c>"d'e`, "port": float64(5432), "ratio": 0.5, "list": []any{float64(1), float64(2)}}
	for name, want := range map[string]string{
		"app.yaml.tera": `a&b<c>"d'e 5432 [1 2]`,
		"page.html":     `a&amp;b&lt;c&gt;&quot;d&#39;e 5432 [1 2]`,
	} {
		out, err := RenderTemplate(name, []byte(`{{ pw }} {{ port }} [{% for n in list %}{{ n }}{% if not forloop.Last %} {% endif %}{% endfor %}]`), values)
		if err != nil || string(out) != want {
			t.Errorf("%s: %q %v, want %q", name, out, err, want)
		}
	}
	// An error on the first line names the author's column, not the wrapper's.
	_, err := RenderTemplate("t.tera", []byte("ok {{ 1 / 0 }}"), nil)
	var te *TemplateError
	if !errors.As(err, &te) || te.Line != 1 || te.Column > 20 {
		t.Errorf("error position: %+v", err)
	}
}

// A template that would write more than MaxOutput fails instead.
func TestTemplateOutputIsBounded(t *testing.T) {
	src := `{% for a in r %}{% for b in r %}{% for c in r %}{% for d in r %}0123456789{% endfor %}{% endfor %}{% endfor %}{% endfor %}`
	r := make([]any, 60) // 60⁴ × 10 bytes = 130 MB
	out, err := RenderTemplate("big.tera", []byte(src), map[string]any{"r": r})
	if err == nil || out != nil || !strings.Contains(err.Error(), "output over") {
		t.Fatalf("a 130 MB rendering: %d bytes, %v", len(out), err)
	}
}
