package typedialog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"regexp"
	"sync"

	"github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/typedialog/form"
	"github.com/stratumiops/stratumiops/shared/typedialog/i18n"
)

var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
	versionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$`)
	errForbidden   = httpapi.Errorf(http.StatusForbidden, "forbidden", "not allowed")
)

// maxCachedForms bounds the parsed definitions an instance keeps.
const maxCachedForms = 1024

// API serves typedialog-forms.
type API struct {
	store     *Store
	authz     *authz.Engine
	auth      *principal.Authenticator
	mu        sync.Mutex
	render    Renderer
	contracts Contracts
	parsed    map[string]parsedForm  // "id@version" → definition; versions never change
	refs      map[string]sessionRef  // session id → owner and form, which never change
	answers   map[string]keptAnswers // session id → its answers as last seen here
	// answersSize is about the bytes kept in answers.
	answersSize int
}

// Renderer renders a form's output template: remote.Client, which calls
// typedialog-render (this function does not link the template engine).
type Renderer interface {
	Render(ctx context.Context, op, name, src string, values map[string]any) (string, error)
}

// parsedForm is a registered version: its row, parsed definition and translations.
type parsedForm struct {
	row formRow
	f   *form.Form
	b   *i18n.Bundle
}

// Remote is what the API asks of the functions it invokes: remote.Client.
type Remote interface {
	Renderer
	Contracts
}

// NewAPI builds the API; auth authenticates callers, engine decides with
// schemas/cedar/typedialog, remote renders output templates and checks
// contracts.
func NewAPI(store *Store, engine *authz.Engine, auth *principal.Authenticator, remote Remote) *API {
	return &API{store: store, authz: engine, auth: auth, render: remote, contracts: remote,
		parsed: map[string]parsedForm{}, refs: map[string]sessionRef{}, answers: map[string]keptAnswers{}}
}

// allowed asks Cedar whether the caller may do action on resource.
func (a *API) allowed(ctx context.Context, action string, resource cedar.Entity) bool {
	return a.authz.Allows(ctx, action, resource)
}

func formEntity(id string) cedar.Entity {
	return authz.Entity(cedar.NewEntityUID("Form", cedar.String(id)), cedar.RecordMap{})
}

func sessionEntity(s sessionRef) cedar.Entity {
	return authz.Entity(cedar.NewEntityUID("Session", cedar.String(s.ID)), cedar.RecordMap{
		"owner": cedar.NewEntityUID("Caller", cedar.String(s.Owner)), "form": cedar.String(s.FormID)})
}

// loadForm reads a registered form version (the newest when version is
// empty) and its parsed definition.
func (a *API) loadForm(ctx context.Context, id, version string) (formRow, *form.Form, error) {
	if !idPattern.MatchString(id) {
		return formRow{}, nil, httpapi.BadRequest("form id %q is malformed", id)
	}
	if version != "" && !versionPattern.MatchString(version) {
		return formRow{}, nil, httpapi.BadRequest("form version %q is malformed", version)
	}
	if !a.allowed(ctx, "read_form", formEntity(id)) {
		return formRow{}, nil, httpapi.NotFound("form %q not found", id)
	}
	var p parsedForm
	var err error
	if version != "" {
		p, err = a.version(ctx, id, version)
	} else {
		var row formRow
		if row, err = a.store.Form(ctx, id, ""); err == nil {
			p, err = a.parse(row)
		}
	}
	if errors.Is(err, ErrNotFound) {
		if version != "" {
			return formRow{}, nil, httpapi.NotFound("form %q has no version %q", id, version)
		}
		return formRow{}, nil, httpapi.NotFound("form %q not found", id)
	}
	if err != nil {
		return formRow{}, nil, err
	}
	return p.row, p.f, nil
}

// version reads a registered form version: from this instance's cache (a
// registered version never changes), else from the store.
func (a *API) version(ctx context.Context, id, version string) (parsedForm, error) {
	a.mu.Lock()
	p, ok := a.parsed[id+"@"+version]
	a.mu.Unlock()
	if ok {
		return p, nil
	}
	row, err := a.store.Form(ctx, id, version)
	if err != nil {
		return parsedForm{}, err
	}
	return a.parse(row)
}

// parse parses a stored version once per instance.
func (a *API) parse(row formRow) (parsedForm, error) {
	key := row.FormID + "@" + row.Version
	a.mu.Lock()
	p, ok := a.parsed[key]
	a.mu.Unlock()
	if ok {
		return p, nil
	}
	f, err := form.Parse(row.FormID+".toml", []byte(row.Definition))
	if err != nil {
		return parsedForm{}, err // stored definitions were checked on the way in
	}
	b, err := newBundle(row.Locales)
	if err != nil {
		return parsedForm{}, err
	}
	p = parsedForm{row: row, f: f, b: b}
	a.mu.Lock()
	if len(a.parsed) < maxCachedForms {
		a.parsed[key] = p
	}
	a.mu.Unlock()
	return p, nil
}

// localizer picks the caller's language for a form read through definition:
// ?lang= (the page), Accept-Language, the form's [form] lang, then English.
func (a *API) localizer(r *http.Request, f *form.Form) *i18n.Localizer {
	a.mu.Lock()
	p, ok := a.parsed[f.Form.ID+"@"+f.Form.Version]
	a.mu.Unlock()
	b := p.b
	if !ok { // the cache was full
		b = i18n.NewBundle()
	}
	return b.Localizer(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"), f.Form.Lang)
}

func newSessionID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "ses_" + hex.EncodeToString(b[:])
}
