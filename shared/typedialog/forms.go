package typedialog

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/typedialog/form"
	"github.com/stratumiops/stratumiops/shared/typedialog/i18n"
)

var langPattern = regexp.MustCompile(`^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8}){0,3}$`)

// registerForm takes a TOML definition as the body, or a FormUpload (JSON)
// with its translations. Every definition
// problem is a 400 listing each with its line and column; re-registering
// the same version with the same text is harmless, with another text a 409.
func (a *API) registerForm(w http.ResponseWriter, r *http.Request) error {
	up, err := readUpload(r)
	if err != nil {
		return err
	}
	src := []byte(up.Definition)
	f, err := form.Parse("form.toml", src)
	var de *form.DefinitionError
	if errors.As(err, &de) {
		return httpapi.Errorf(http.StatusBadRequest, "bad_definition", "%s", de.Error())
	}
	if err != nil {
		return err
	}
	switch {
	case !idPattern.MatchString(f.Form.ID):
		return httpapi.Errorf(http.StatusBadRequest, "bad_definition", "form id %q: use letters, digits, _ . - (at most 128)", f.Form.ID)
	case !versionPattern.MatchString(f.Form.Version):
		return httpapi.Errorf(http.StatusBadRequest, "bad_definition", "form version %q: a registered form needs [form] version (letters, digits, . + - _)", f.Form.Version)
	}
	if !a.allowed(r.Context(), "register_form", formEntity(f.Form.ID)) {
		return errForbidden
	}
	if _, err := newBundle(up.Locales); err != nil {
		return err
	}
	if err := a.checkTemplate(r.Context(), f, up.Template); err != nil {
		return err
	}
	if err := a.checkContract(r.Context(), f, up.Contract); err != nil {
		return err
	}
	row, err := a.store.CreateForm(r.Context(), formRow{FormID: f.Form.ID, Version: f.Form.Version, Title: f.Form.Title,
		Definition: string(src), Locales: up.Locales, Template: up.Template, Contract: up.Contract, CreatedBy: principal.From(r.Context()).Subject})
	if errors.Is(err, ErrExists) && (row.Definition != string(src) || !maps.Equal(row.Locales, up.Locales) || row.Template != up.Template || row.Contract != up.Contract) {
		return httpapi.Errorf(http.StatusConflict, "conflict",
			"form %q version %q is already registered with another definition: bump [form] version", f.Form.ID, f.Form.Version)
	}
	if err != nil && !errors.Is(err, ErrExists) {
		return err
	}
	w.Header().Set("Location", "/forms/"+f.Form.ID+"?version="+f.Form.Version)
	httpapi.WriteJSON(w, http.StatusCreated, formDoc(row, f))
	return nil
}

// readUpload reads POST /forms: the TOML itself, or JSON (FormUpload).
func readUpload(r *http.Request) (FormUpload, error) {
	src, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return FormUpload{}, httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large", "form definition exceeds %d bytes", mbe.Limit)
	}
	if err != nil {
		return FormUpload{}, httpapi.BadRequest("read form definition: %v", err)
	}
	var up FormUpload
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		r.Body = io.NopCloser(bytes.NewReader(src))
		if err := httpapi.DecodeJSON(r, &up); err != nil {
			return FormUpload{}, err
		}
	} else {
		up.Definition = string(src)
	}
	if strings.TrimSpace(up.Definition) == "" {
		return FormUpload{}, httpapi.BadRequest("the form's TOML definition is empty: send it as the body, or as \"definition\" in JSON")
	}
	return up, nil
}

// newBundle parses a form's translations; each language must be a tag and
// each file must parse (a 400 naming the file and line).
func newBundle(locales map[string]string) (*i18n.Bundle, error) {
	b := i18n.NewBundle()
	for lang, src := range locales {
		if !langPattern.MatchString(lang) {
			return nil, httpapi.Errorf(http.StatusBadRequest, "bad_definition", "locales: %q is not a language tag (es, pt-BR …)", lang)
		}
		if err := b.Add(lang, "locales/"+lang+".ftl", []byte(src)); err != nil {
			return nil, httpapi.Errorf(http.StatusBadRequest, "bad_definition", "%v", err)
		}
	}
	return b, nil
}

func formDoc(row formRow, f *form.Form) FormDoc {
	format := f.Output.Format
	if format == "" {
		format = form.FormatJSON
	}
	sections := f.Sections
	if sections == nil {
		sections = []form.Section{}
	}
	langs := slices.Sorted(maps.Keys(row.Locales))
	if langs == nil {
		langs = []string{}
	}
	return FormDoc{ID: row.FormID, Version: row.Version, Title: f.Form.Title, Description: f.Form.Description,
		Format: format, Template: f.Output.Template, Contract: f.Output.Validation, Languages: langs, CreatedAt: row.CreatedAt.Time, Sections: sections}
}

func (a *API) listForms(w http.ResponseWriter, r *http.Request) error {
	limit, err := httpapi.QueryInt(r, "limit", 100, 1, 500)
	if err != nil {
		return err
	}
	rows, err := a.store.Forms(r.Context(), limit)
	if err != nil {
		return err
	}
	out := FormList{Forms: []FormSummary{}}
	for _, row := range rows {
		if a.allowed(r.Context(), "read_form", formEntity(row.FormID)) {
			out.Forms = append(out.Forms, FormSummary{ID: row.FormID, Version: row.Version, Title: row.Title, CreatedAt: row.CreatedAt.Time})
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getForm(w http.ResponseWriter, r *http.Request) error {
	row, f, err := a.loadForm(r.Context(), r.PathValue("id"), r.URL.Query().Get("version"))
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, formDoc(row, a.localizer(r, f).Form(f)))
	return nil
}
