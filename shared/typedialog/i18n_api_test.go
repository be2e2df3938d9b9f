package typedialog

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// A form registered with its Spanish translations answers in the caller's
// language (Accept-Language, ?lang= on the page), falling back to English.
func TestFormsAPILanguages(t *testing.T) {
	h := formsAPI(t)
	ftl, err := os.ReadFile("../../schemas/forms/examples/locales/es/example_form.ftl")
	if err != nil {
		t.Fatal(err)
	}
	upload := func(locales map[string]string) string { return exampleUpload(t, example(t), locales) }
	jsonCall := func(body string, status int) answer {
		t.Helper()
		req := httptest.NewRequest("POST", "/forms", strings.NewReader(body))
		req.Header.Set("X-API-Key", "admin")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		a := answer{status: rec.Code, raw: rec.Body.String()}
		_ = json.Unmarshal(rec.Body.Bytes(), &a.body)
		if a.status != status {
			t.Fatalf("POST /forms: %d %s, want %d", a.status, a.raw, status)
		}
		return a
	}
	if a := jsonCall(upload(map[string]string{"es": "ok = bien\nroto = { $n ->\n  [one] x\n  }\n"}), 400); !strings.Contains(a.raw, "locales/es.ftl:2:") {
		t.Fatalf("bad translation: %s", a.raw)
	}
	if a := jsonCall(upload(map[string]string{"../es": "x = y"}), 400); !strings.Contains(a.raw, "not a language tag") {
		t.Fatalf("bad language: %s", a.raw)
	}
	reg := jsonCall(upload(map[string]string{"es": string(ftl)}), 201)
	if langs, _ := json.Marshal(reg.body["languages"]); string(langs) != `["es"]` {
		t.Fatalf("languages %s", langs)
	}
	jsonCall(upload(map[string]string{"es": string(ftl)}), 201) // the same again: harmless
	jsonCall(upload(map[string]string{"es": string(ftl) + "\nextra = x\n"}), 409)

	withLang := func(method, target, lang, body string) answer {
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("X-API-Key", "ann")
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		a := answer{status: rec.Code, raw: rec.Body.String()}
		_ = json.Unmarshal(rec.Body.Bytes(), &a.body)
		return a
	}
	if a := withLang("GET", "/forms/example_form", "es-ES,es;q=0.9", ""); !strings.Contains(a.raw, `"title":"Formulario de ejemplo"`) || !strings.Contains(a.raw, `"Ingeniería"`) {
		t.Fatalf("form in Spanish: %.400s", a.raw)
	}
	if a := withLang("GET", "/forms/example_form", "de", ""); !strings.Contains(a.raw, `"title":"Example Form"`) {
		t.Fatalf("fallback: %.300s", a.raw)
	}
	s := withLang("POST", "/forms/example_form/sessions", "es", `{"answers":{"name":"A","department":"sales"}}`)
	if s.status != 201 || !strings.Contains(s.raw, "debe tener al menos 2 caracteres") || !strings.Contains(s.raw, "debe ser una de estas opciones") {
		t.Fatalf("session in Spanish: %d %s", s.status, s.raw)
	}
	sub := withLang("POST", "/sessions/"+s.body["id"].(string)+"/submit", "es", "")
	if sub.status != 422 || !strings.Contains(sub.raw, "name: debe tener al menos 2 caracteres (min_length)") || !strings.Contains(sub.raw, "email: es obligatorio (required)") {
		t.Fatalf("submit in Spanish: %d %s", sub.status, sub.raw)
	}
	page := withLang("GET", "/forms/example_form/page?lang=es", "en", "")
	for _, want := range []string{`<html lang="es">`, "Nombre completo", ">Enviar</button>", "Añadir Proyectos anteriores", `data-required="es obligatorio"`} {
		if !strings.Contains(page.raw, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if page := withLang("GET", "/forms/example_form/page", "", ""); !strings.Contains(page.raw, `<html lang="en">`) || !strings.Contains(page.raw, ">Submit</button>") {
		t.Errorf("English page: %.300s", page.raw)
	}
}
