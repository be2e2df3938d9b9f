package i18n

import (
	"errors"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/typedialog/form"
)

func TestParseAndFormat(t *testing.T) {
	src := "# comment\nhello = Hola { $name }\n    .title = Saludo\nitems = { $n ->\n    [0] ninguno\n    [one] un elemento\n   *[other] { $n } elementos\n    }\nmulti = primera\n    segunda\nquoted = { \"{\" } llaves\n"
	b := &Bundle{langs: map[string]map[string]*message{}}
	if err := b.Add("es", "t.ftl", []byte(src)); err != nil {
		t.Fatal(err)
	}
	l := b.Localizer("es")
	for id, want := range map[string]string{"hello": "Hola Ada", "hello.title": "Saludo", "multi": "primera\nsegunda", "quoted": "{ llaves"} {
		if got, _ := l.Get(id, map[string]any{"name": "Ada"}); got != want {
			t.Errorf("%s = %q, want %q", id, got, want)
		}
	}
	for n, want := range map[int]string{0: "ninguno", 1: "un elemento", 5: "5 elementos"} {
		if got, _ := l.Get("items", map[string]any{"n": n}); got != want {
			t.Errorf("items(%d) = %q, want %q", n, got, want)
		}
	}
	if _, ok := l.Get("missing", nil); ok {
		t.Error("a missing message was found")
	}
	var pe *ParseError
	if err := b.Add("es", "bad.ftl", []byte("ok = fine\nbad = { $n ->\n  [one] x\n  }\n")); !errors.As(err, &pe) || pe.Line != 2 || !strings.Contains(pe.Msg, "default variant") {
		t.Fatalf("want bad.ftl:2 default variant, got %v", err)
	}
	if err := b.Add("es", "bad.ftl", []byte("ok = fine\n   stray\nnot an entry\n")); !errors.As(err, &pe) || pe.Line != 3 {
		t.Fatalf("want bad.ftl:3, got %v", err)
	}
}

func TestNegotiation(t *testing.T) {
	b := NewBundle()
	for _, c := range []struct {
		prefs []string
		want  string
	}{
		{[]string{"es-ES,es;q=0.9,en;q=0.8"}, "es"},
		{[]string{"fr-CA, en;q=0.5, es;q=0.7"}, "es"},
		{[]string{"", "es"}, "es"}, // no --lang: the form's default
		{[]string{"de", "pt"}, "en"},
		{[]string{"es_ES.UTF-8"}, "es"},
		{[]string{"es;q=0, en"}, "en"},
	} {
		if got := b.Localizer(c.prefs...).Lang(); got != c.want {
			t.Errorf("%q: %s, want %s", c.prefs, got, c.want)
		}
	}
	if got := b.Localizer("es").Text("tui-summary", "", nil); got != "Resumen" {
		t.Errorf("es summary %q", got)
	}
	if got := b.Localizer("de").Text("tui-summary", "", nil); got != "Summary" {
		t.Errorf("fallback summary %q", got)
	}
}

func TestFormAndErrors(t *testing.T) {
	f, err := form.LoadFile("../../../schemas/forms/examples/employee.toml")
	if err != nil {
		t.Fatal(err)
	}
	b := NewBundle()
	if err := b.AddDir("../../../schemas/forms/examples/locales", f.Form.ID); err != nil {
		t.Fatal(err)
	}
	es := b.Localizer("es-MX")
	lf := es.Form(f)
	dept, _ := lf.Lookup("department")
	projects, _ := lf.Lookup("projects")
	if lf.Form.Title != "Formulario de ejemplo" || lf.Sections[0].Description != "Campos obligatorios" || dept.Label != "Departamento" ||
		dept.Options[0].Label != "Ingeniería" || projects.Fields[1].Options[1].Label != "Desarrollador" {
		t.Fatalf("localized form: %+v", lf.Sections[0])
	}
	if orig, _ := f.Lookup("department"); orig.Label != "Department" || orig.Options[0].Label != "Engineering" {
		t.Fatal("localizing changed the original form")
	}
	errs := es.Errors(f, f.Check(map[string]any{"name": "A", "email": "x", "department": "sales", "projects": []any{}}).Errors)
	got := map[string]string{}
	for _, fe := range errs {
		got[fe.Field+" "+fe.Rule] = fe.Message
	}
	for k, want := range map[string]string{"name min_length": "debe tener al menos 2 caracteres", "email pattern": "debe cumplir ^[^@]+@[^@]+\\.[^@]+$",
		"department options": "debe ser una de estas opciones: engineering, product, design", "projects min_items": "necesita al menos 1 elemento"} {
		if got[k] != want {
			t.Errorf("%s: %q, want %q (all: %v)", k, got[k], want, got)
		}
	}
	en := b.Localizer("en").Error(f, form.FieldError{Field: "name", Rule: "min_length", Message: "must be at least 2 characters, got 1"})
	if en.Message != "must be at least 2 characters, got 1" {
		t.Errorf("English keeps the engine's message: %q", en.Message)
	}
}

// FuzzParse: any file parses or fails with an error, never a panic, and a
// parsed message formats.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"en.ftl", "es.ftl"} {
		src, _ := builtin.ReadFile("locales/" + name)
		f.Add(src)
	}
	f.Add([]byte("a = { $n ->\n [one] x\n *[other] { \"}\" }\n }\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		msgs, err := Parse("f.ftl", src)
		if err != nil {
			return
		}
		for _, m := range msgs {
			_ = m.value.format("es", map[string]any{"n": 1, "min": 2})
			for _, a := range m.attrs {
				_ = a.format("en", nil)
			}
		}
	})
}
