package typedialog

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/typedialog/form"
	"github.com/stratumiops/stratumiops/shared/typedialog/remote"
)

// Contracts checks answers against a form's CUE contract: remote.Client,
// which calls typedialog-contract (this function does not link CUE).
type Contracts interface {
	CheckContract(ctx context.Context, op, name, src string, values map[string]any) error
}

// contractName is the contract a form names in [output] validation
// ("cue://schemas/forms/employee.cue" → "schemas/forms/employee.cue"), ""
// for none. Only CUE contracts run in the API: a nickel:// one needs the
// nickel binary, which no Lambda has.
func contractName(f *form.Form) (string, error) {
	ref := f.Output.Validation
	switch {
	case ref == "":
		return "", nil
	case strings.HasPrefix(ref, "cue://") && len(ref) > len("cue://"):
		return strings.TrimPrefix(ref, "cue://"), nil
	case strings.HasPrefix(ref, "nickel://"):
		return "", httpapi.Errorf(http.StatusBadRequest, "bad_definition",
			"[output] validation %q: the API runs CUE contracts only (nickel:// needs the nickel binary): use cue://", ref)
	}
	return "", httpapi.Errorf(http.StatusBadRequest, "bad_definition", "[output] validation %q: want cue://path", ref)
}

// checkContract checks a registration's contract against its definition: a
// contract the form names must come with it and compile (typedialog-contract
// compiles it; an error is a 400 naming its line), and a contract the form
// does not name is refused.
func (a *API) checkContract(ctx context.Context, f *form.Form, src string) error {
	name, err := contractName(f)
	switch {
	case err != nil:
		return err
	case name == "" && src == "":
		return nil
	case name == "":
		return httpapi.Errorf(http.StatusBadRequest, "bad_definition",
			"a contract was sent but the form names none: set [output] validation = \"cue://…\", or leave \"contract\" out")
	case src == "":
		return httpapi.Errorf(http.StatusBadRequest, "bad_definition",
			"the form's [output] validation is %q: register its source with the form (POST /forms as JSON, \"contract\")", f.Output.Validation)
	}
	err = a.contracts.CheckContract(ctx, remote.OpCompile, name, src, nil)
	var ce *remote.ContractError
	if errors.As(err, &ce) {
		return httpapi.Errorf(http.StatusBadRequest, "bad_definition", "%s", ce.Error())
	}
	return err
}

// runContract checks the validated values against the form's contract (none
// for a form without one). Each violated constraint is named with its field:
// a 400, and the session stays open.
func (a *API) runContract(ctx context.Context, p parsedForm, values map[string]any) error {
	name, err := contractName(p.f)
	if err != nil || name == "" {
		return err
	}
	if p.row.Contract == "" { // a version registered before contracts were
		return httpapi.Errorf(http.StatusUnprocessableEntity, "contract_failed",
			"form %q version %q names contract %q but was registered without its source: register a new version with it",
			p.row.FormID, p.row.Version, p.f.Output.Validation)
	}
	err = a.contracts.CheckContract(ctx, remote.OpRun, name, p.row.Contract, values)
	var ce *remote.ContractError
	if errors.As(err, &ce) {
		return httpapi.Errorf(http.StatusBadRequest, "contract_violation", "%s", ce.Error())
	}
	return err
}

// checkAndRender checks the values against the form's contract and renders
// its template, the two invocations at once (neither needs the other; each
// returns at once when the form has none). The contract's verdict comes
// first: values it refuses render nothing.
func (a *API) checkAndRender(ctx context.Context, p parsedForm, values map[string]any) (string, error) {
	type rendering struct {
		out string
		err error
	}
	done := make(chan rendering, 1)
	go func() {
		out, err := a.renderTemplate(ctx, p, values)
		done <- rendering{out, err}
	}()
	err := a.runContract(ctx, p, values)
	res := <-done
	if err != nil {
		return "", err
	}
	return res.out, res.err
}
