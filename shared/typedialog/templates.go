package typedialog

import (
	"context"
	"errors"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/typedialog/form"
	"github.com/stratumiops/stratumiops/shared/typedialog/remote"
)

// checkTemplate checks a registration's template against its definition:
// a template the form names must come with it and parse (typedialog-render
// compiles it; a syntax error is a 400 naming its line), and a template the
// form does not name is refused.
func (a *API) checkTemplate(ctx context.Context, f *form.Form, src string) error {
	name := f.Output.Template
	switch {
	case name == "" && src == "":
		return nil
	case name == "":
		return httpapi.Errorf(http.StatusBadRequest, "bad_definition",
			"a template was sent but the form names none: set [output] template, or leave \"template\" out")
	case src == "":
		return httpapi.Errorf(http.StatusBadRequest, "bad_definition",
			"the form's [output] template is %q: register its source with the form (POST /forms as JSON, \"template\")", name)
	}
	_, err := a.render.Render(ctx, remote.OpCompile, name, src, nil)
	var tf *remote.TemplateFailure
	if errors.As(err, &tf) {
		return httpapi.Errorf(http.StatusBadRequest, "bad_definition", "%s", tf.Error())
	}
	return err
}

// renderTemplate renders the form's output template with the validated
// values ("" for a form without one). A template that fails renders nothing:
// a 422 naming the template's line, and the session stays open.
func (a *API) renderTemplate(ctx context.Context, p parsedForm, values map[string]any) (string, error) {
	name := p.f.Output.Template
	if name == "" {
		return "", nil
	}
	if p.row.Template == "" { // a version registered before templates were
		return "", httpapi.Errorf(http.StatusUnprocessableEntity, "template_failed",
			"form %q version %q names template %q but was registered without its source: register a new version with it",
			p.row.FormID, p.row.Version, name)
	}
	out, err := a.render.Render(ctx, remote.OpRun, name, p.row.Template, values)
	var tf *remote.TemplateFailure
	if errors.As(err, &tf) {
		return "", httpapi.Errorf(http.StatusUnprocessableEntity, "template_failed", "%s", tf.Error())
	}
	return out, err
}
