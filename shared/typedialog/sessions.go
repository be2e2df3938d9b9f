package typedialog

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/typedialog/form"
	"github.com/stratumiops/stratumiops/shared/typedialog/i18n"
)

func (a *API) startSession(w http.ResponseWriter, r *http.Request) error {
	var in SessionInput
	if err := decodeOptional(r, &in); err != nil {
		return err
	}
	row, f, err := a.loadForm(r.Context(), r.PathValue("id"), in.Version)
	if err != nil {
		return err
	}
	if !a.allowed(r.Context(), "answer", formEntity(row.FormID)) {
		return errForbidden
	}
	if err := unknownAnswers(f, in.Answers); err != nil {
		return err
	}
	answers := map[string]any{}
	for k, v := range in.Answers {
		if v != nil {
			answers[k] = v
		}
	}
	s, err := a.store.CreateSession(r.Context(), newSessionID(), row.FormID, row.Version, principal.From(r.Context()).Subject, answers)
	if err != nil {
		return err
	}
	a.remember(s)
	w.Header().Set("Location", "/sessions/"+s.ID)
	httpapi.WriteJSON(w, http.StatusCreated, sessionState(f, a.localizer(r, f), s))
	return nil
}

// decodeOptional decodes a JSON body when there is one.
func decodeOptional(r *http.Request, v any) error {
	raw, err := io.ReadAll(r.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large", "request body exceeds %d bytes", mbe.Limit)
	}
	if err != nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	return httpapi.DecodeJSON(r, v)
}

// unknownAnswers refuses answers to fields the form does not have, naming them.
func unknownAnswers(f *form.Form, answers map[string]any) error {
	var unknown []string
	for k := range answers {
		if _, ok := f.Lookup(k); !ok {
			unknown = append(unknown, form.Quote(k))
		}
	}
	if len(unknown) > 0 {
		return httpapi.BadRequest("form %q has no field %s", f.Form.ID, strings.Join(unknown, ", "))
	}
	return nil
}

func (a *API) patchSession(w http.ResponseWriter, r *http.Request) error {
	var in AnswersPatch
	if err := httpapi.DecodeJSON(r, &in); err != nil {
		return err
	}
	if in.Answers == nil {
		return httpapi.BadRequest("field \"answers\" is required")
	}
	ref, p, err := a.sessionRef(r)
	if err != nil {
		return err
	}
	f := p.f
	if err := unknownAnswers(f, in.Answers); err != nil {
		return err
	}
	var known *sessionRow
	if k, ok := a.kept(ref); ok {
		known = &k
	}
	s, err := a.store.PatchAnswers(r.Context(), ref, in.Answers, known)
	if errors.Is(err, ErrSessionClosed) {
		return httpapi.Errorf(http.StatusConflict, "conflict", "session %q is already submitted", r.PathValue("id"))
	}
	if errors.Is(err, ErrAnswersTooLarge) {
		return httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large",
			"session %q: these answers would make its answers larger than %d characters in all (the 1 MiB a submission may hold): clear or shorten some (a null clears an answer)",
			r.PathValue("id"), MaxSessionAnswers)
	}
	if err != nil {
		return err
	}
	a.keep(s)
	httpapi.WriteJSON(w, http.StatusOK, sessionState(f, a.localizer(r, f), s))
	return nil
}

// sessionState reports the visible fields, the failing answers (of fields
// that have one) and the required fields still unanswered; messages in
// loc's language.
func sessionState(f *form.Form, loc *i18n.Localizer, s sessionRow) Session {
	r := f.Check(s.Answers)
	r.Errors = loc.Errors(f, r.Errors)
	out := Session{ID: s.ID, FormID: s.FormID, Version: s.Version, Status: s.Status, Answers: s.Answers,
		Visible: r.Visible, Errors: []form.FieldError{}, Missing: []string{}, CreatedAt: s.CreatedAt.Time, UpdatedAt: s.UpdatedAt.Time}
	if out.Answers == nil {
		out.Answers = map[string]any{}
	}
	if out.Visible == nil {
		out.Visible = []string{}
	}
	for _, e := range r.Errors {
		top, _, _ := strings.Cut(strings.SplitN(e.Field, "[", 2)[0], ".")
		if _, answered := s.Answers[top]; answered {
			out.Errors = append(out.Errors, e)
		} else {
			out.Missing = append(out.Missing, e.Field)
		}
	}
	return out
}

func (a *API) submit(w http.ResponseWriter, r *http.Request) error {
	if err := decodeOptional(r, &struct{}{}); err != nil {
		return err
	}
	ref, p, err := a.sessionRef(r)
	if err != nil {
		return err
	}
	s, kept := a.kept(ref)
	if !kept {
		if s, p, err = a.session(r); err != nil {
			return err
		}
	}
	out, err := a.submitAt(r, s, p)
	if err != nil && kept {
		// This instance's copy may be stale (another one patched or
		// submitted the session): read it, and submit it as read when it is
		// not what failed.
		a.forget(s.ID)
		read, rp, rerr := a.session(r)
		if rerr != nil {
			return rerr
		}
		if read.Rev != s.Rev || read.Status != s.Status {
			s = read
			out, err = a.submitAt(r, s, rp)
		}
	}
	if errors.Is(err, ErrSessionMoved) {
		return httpapi.Errorf(http.StatusConflict, "conflict", "session %q changed or was submitted while submitting: read it and submit again", s.ID)
	}
	if err != nil {
		return err
	}
	a.forget(s.ID)
	httpapi.WriteJSON(w, http.StatusOK, out)
	return nil
}

// submitAt validates the session's answers at its revision, checks them
// against the form's contract, renders the output and its template, and
// submits the session at that revision: ErrSessionMoved when it changed
// meanwhile (nothing is written then).
func (a *API) submitAt(r *http.Request, s sessionRow, p parsedForm) (Submission, error) {
	f := p.f
	if s.Status != "open" {
		return Submission{}, httpapi.Errorf(http.StatusConflict, "conflict", "session %q is already submitted", s.ID)
	}
	values, err := f.Validate(s.Answers)
	var ae *form.AnswersError
	if errors.As(err, &ae) {
		ae = &form.AnswersError{Errors: a.localizer(r, f).Errors(f, ae.Errors)}
		return Submission{}, httpapi.Errorf(http.StatusUnprocessableEntity, "invalid_answers", "%s", ae.Error())
	}
	if err != nil {
		return Submission{}, err
	}
	format := cmp.Or(f.Output.Format, form.FormatJSON)
	out, err := form.Render(format, values)
	if err != nil {
		return Submission{}, err
	}
	templated, err := a.checkAndRender(r.Context(), p, values)
	if err != nil {
		return Submission{}, err
	}
	sum := sha256.Sum256(out)
	hash := hex.EncodeToString(sum[:])
	err = a.store.Submit(r.Context(), s.ID, s.Rev, snapshot{FormID: s.FormID, Version: s.Version, SessionID: s.ID,
		ConfigHash: hash, Output: values, Format: format, Rendered: string(out), Templated: templated})
	if err != nil {
		return Submission{}, err
	}
	return Submission{SessionID: s.ID, FormID: s.FormID, Version: s.Version, Format: format, Output: string(out),
		Template: f.Output.Template, Templated: templated, Values: values, ConfigHash: hash, SnapshotID: s.ID}, nil
}
