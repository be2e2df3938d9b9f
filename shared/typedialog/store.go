package typedialog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Store errors.
var (
	ErrNotFound      = errors.New("not found")
	ErrExists        = errors.New("already exists")
	ErrSessionClosed = errors.New("session already submitted")
	ErrSessionMoved  = errors.New("session changed while submitting")
	// ErrAnswersTooLarge is a patch that would make a session's answers
	// larger than MaxSessionAnswers.
	ErrAnswersTooLarge = errors.New("session answers too large")
)

// MaxSessionAnswers bounds a session's answers in all, as the request body
// limit (1 MiB) bounds a submission: counted in characters of their text
// (the UTF-8 bytes of the answers cast to a string, about their JSON's
// length: characters would let emoji carry four times as much),
// checked in the patching statement itself so that patches from any number
// of instances cannot add up past it.
const MaxSessionAnswers = 1 << 20

// Store keeps forms, sessions and snapshots in SurrealDB (database typedialog).
type Store struct{ db *surreal.Client }

// NewStore returns a store over db.
func NewStore(db *surreal.Client) *Store { return &Store{db: db} }

type formRow struct {
	ID         string                `json:"id"`
	FormID     string                `json:"form_id"`
	Version    string                `json:"version"`
	Title      string                `json:"title"`
	Definition string                `json:"definition"`
	Locales    map[string]string     `json:"locales,omitempty"`  // language → .ftl source
	Template   string                `json:"template,omitempty"` // the output template's source
	Contract   string                `json:"contract,omitempty"` // the CUE contract's source
	CreatedBy  string                `json:"created_by"`
	CreatedAt  models.CustomDateTime `json:"created_at"`
}

type sessionRow struct {
	ID        string                `json:"id"`
	FormID    string                `json:"form_id"`
	Version   string                `json:"version"`
	Owner     string                `json:"owner"`
	Answers   map[string]any        `json:"answers"`
	Rev       int64                 `json:"rev"`
	Status    string                `json:"status"`
	CreatedAt models.CustomDateTime `json:"created_at"`
	UpdatedAt models.CustomDateTime `json:"updated_at"`
}

// snapshot is one config_snapshots row.
type snapshot struct {
	FormID     string         `json:"form_id"`
	Version    string         `json:"version"`
	SessionID  string         `json:"session_id"`
	ConfigHash string         `json:"config_hash"`
	Output     map[string]any `json:"output"`
	Format     string         `json:"format"`
	Rendered   string         `json:"rendered"`
	Templated  string         `json:"templated,omitempty"`
	Target     string         `json:"target"`
	// CreatedAt is set by the database.
	CreatedAt *models.CustomDateTime `json:"created_at,omitempty"`
}

const recordFields = "*, record::id(id) AS id"

func formKey(id, version string) models.RecordID { return models.NewRecordID("forms", id+"@"+version) }

// CreateForm registers a form version once; an existing version is ErrExists
// and is returned as stored.
func (s *Store) CreateForm(ctx context.Context, r formRow) (formRow, error) {
	row := map[string]any{"id": formKey(r.FormID, r.Version), "form_id": r.FormID, "version": r.Version,
		"title": r.Title, "definition": r.Definition, "created_by": r.CreatedBy}
	if len(r.Locales) > 0 {
		row["locales"] = r.Locales
	}
	if r.Template != "" {
		row["template"] = r.Template
	}
	if r.Contract != "" {
		row["contract"] = r.Contract
	}
	rows, err := surreal.Query[[]formRow](ctx, s.db, "INSERT IGNORE INTO forms $row RETURN "+recordFields, map[string]any{"row": row})
	if err != nil {
		return formRow{}, fmt.Errorf("register form %s@%s: %w", r.FormID, r.Version, err)
	}
	if len(rows) == 1 {
		return rows[0], nil
	}
	existing, err := s.Form(ctx, r.FormID, r.Version)
	if err != nil {
		return formRow{}, err
	}
	return existing, ErrExists
}

// Form reads one version of a form, or its newest when version is empty.
func (s *Store) Form(ctx context.Context, id, version string) (formRow, error) {
	var rows []formRow
	var err error
	if version != "" {
		rows, err = surreal.Query[[]formRow](ctx, s.db, "SELECT "+recordFields+" FROM $id", map[string]any{"id": formKey(id, version)})
	} else {
		rows, err = surreal.Query[[]formRow](ctx, s.db,
			"SELECT "+recordFields+" FROM forms WHERE form_id = $f ORDER BY created_at DESC LIMIT 1", map[string]any{"f": id})
	}
	if err != nil {
		return formRow{}, fmt.Errorf("read form %s: %w", id, err)
	}
	if len(rows) == 0 {
		return formRow{}, ErrNotFound
	}
	return rows[0], nil
}

// Forms lists the newest version of every form, by id.
func (s *Store) Forms(ctx context.Context, limit int) ([]formRow, error) {
	rows, err := surreal.Query[[]formRow](ctx, s.db, "SELECT "+recordFields+" FROM forms ORDER BY form_id, created_at DESC LIMIT $n",
		map[string]any{"n": limit * 8})
	if err != nil {
		return nil, fmt.Errorf("list forms: %w", err)
	}
	var out []formRow
	for _, r := range rows {
		if len(out) > 0 && out[len(out)-1].FormID == r.FormID {
			continue
		}
		if len(out) == limit {
			break
		}
		out = append(out, r)
	}
	return out, nil
}

func sessionKey(id string) models.RecordID { return models.NewRecordID("sessions", id) }

// CreateSession starts a session with its first answers. Only the
// database's timestamps are read back: the row returned holds the answers
// as given.
func (s *Store) CreateSession(ctx context.Context, id, formID, version, owner string, answers map[string]any) (sessionRow, error) {
	rows, err := surreal.Query[[]sessionRow](ctx, s.db, "CREATE $id CONTENT $c RETURN created_at, updated_at",
		map[string]any{"id": sessionKey(id), "c": map[string]any{"form_id": formID, "version": version, "owner": owner,
			"answers": answers, "status": "open"}})
	if err != nil {
		return sessionRow{}, fmt.Errorf("create session: %w", err)
	}
	if len(rows) != 1 {
		return sessionRow{}, fmt.Errorf("create session: %d records returned", len(rows))
	}
	return sessionRow{ID: id, FormID: formID, Version: version, Owner: owner, Answers: answers, Status: "open",
		CreatedAt: rows[0].CreatedAt, UpdatedAt: rows[0].UpdatedAt}, nil
}

// Session reads one session.
func (s *Store) Session(ctx context.Context, id string) (sessionRow, error) {
	rows, err := surreal.Query[[]sessionRow](ctx, s.db, "SELECT "+recordFields+" FROM $id", map[string]any{"id": sessionKey(id)})
	if err != nil {
		return sessionRow{}, fmt.Errorf("read session %s: %w", id, err)
	}
	if len(rows) == 0 {
		return sessionRow{}, ErrNotFound
	}
	return rows[0], nil
}

// PatchAnswers merges answers into an open session in one statement, so
// concurrent patches of different fields all land; a null clears an answer.
// known is the session as the caller last saw it (nil if it has no copy):
// when the patch lands on its revision (no other patch in between), the
// merged answers are not read back but merged here the same way.
func (s *Store) PatchAnswers(ctx context.Context, ref sessionRef, patch map[string]any, known *sessionRow) (sessionRow, error) {
	merged := "object::extend(answers, $patch)" // stored answers hold no nulls
	if slices.Contains(slices.Collect(maps.Values(patch)), nil) {
		merged = "object::from_entries(array::filter(object::entries(" + merged + "), |$e| $e[1] != NULL AND $e[1] != NONE))"
	}
	next := int64(-1) // the revision whose answers the caller can merge itself
	if known != nil {
		next = known.Rev + 1
	}
	rows, err := surreal.Query[[]sessionRow](ctx, s.db, "UPDATE $id SET answers = "+merged+
		", rev += 1, updated_at = time::now() WHERE status = 'open' AND bytes::len(<bytes> <string> ("+merged+")) <= $max"+
		" RETURN rev, created_at, updated_at, (IF rev = $next { NONE } ELSE { answers }) AS answers",
		map[string]any{"id": sessionKey(ref.ID), "patch": patch, "next": next, "max": MaxSessionAnswers})
	if err != nil {
		return sessionRow{}, fmt.Errorf("patch session %s: %w", ref.ID, err)
	}
	if len(rows) == 1 {
		row := rows[0]
		row.ID, row.FormID, row.Version, row.Owner, row.Status = ref.ID, ref.FormID, ref.Version, ref.Owner, "open"
		if row.Rev == next {
			row.Answers = mergeAnswers(known.Answers, patch)
		}
		return row, nil
	}
	cur, err := s.Session(ctx, ref.ID)
	if err != nil {
		return sessionRow{}, err
	}
	if cur.Status == "open" { // a session once submitted stays so: the size refused it
		return sessionRow{}, ErrAnswersTooLarge
	}
	return sessionRow{}, ErrSessionClosed
}

// mergeAnswers is what PatchAnswers' statement stores: answers with patch's
// set and its nulls removed (a new map; answers is left as it is).
func mergeAnswers(answers, patch map[string]any) map[string]any {
	out := make(map[string]any, len(answers)+len(patch))
	maps.Copy(out, answers)
	for k, v := range patch {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	return out
}

// Submit closes the session at the revision whose answers were validated and
// writes its snapshot, in one statement (so one transaction, retried whole on
// a write conflict): a patch or another submission in between (from any
// instance) leaves nothing written.
func (s *Store) Submit(ctx context.Context, id string, rev int64, snap snapshot) error {
	_, err := surreal.Query[any](ctx, s.db, `
IF array::len((UPDATE $sid SET status = 'submitted', updated_at = time::now() WHERE status = 'open' AND rev = $rev RETURN VALUE id)) = 0 {
	THROW 'session changed'
} ELSE {
	CREATE $snap CONTENT $content RETURN NONE
};`,
		map[string]any{"sid": sessionKey(id), "rev": rev, "snap": models.NewRecordID("config_snapshots", id), "content": snap})
	var qe *surreal.QueryError
	if errors.As(err, &qe) && (strings.Contains(qe.Message, "session changed") || strings.Contains(qe.Message, "already exists")) {
		return ErrSessionMoved
	}
	if err != nil {
		return fmt.Errorf("submit session %s: %w", id, err)
	}
	return nil
}

// Snapshot reads the config snapshot of a submitted session.
func (s *Store) Snapshot(ctx context.Context, sessionID string) (snapshot, error) {
	rows, err := surreal.Query[[]snapshot](ctx, s.db, "SELECT * OMIT id FROM $id",
		map[string]any{"id": models.NewRecordID("config_snapshots", sessionID)})
	if err != nil {
		return snapshot{}, fmt.Errorf("read snapshot %s: %w", sessionID, err)
	}
	if len(rows) == 0 {
		return snapshot{}, ErrNotFound
	}
	return rows[0], nil
}
