package portfolio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// ErrNotFound is returned for an execution id that does not exist.
var ErrNotFound = errors.New("execution not found")

const table = "executions"

// Store keeps executions in SurrealDB (database "portfolio").
type Store struct{ db *surreal.Client }

// NewStore returns a store over db.
func NewStore(db *surreal.Client) *Store { return &Store{db: db} }

// fields projects a record with its key as a plain string id.
const fields = "*, record::id(id) AS id"

func content(n NewExecution) map[string]any {
	meta := n.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	c := map[string]any{"project": n.Project, "source": n.Source, "task_type": n.TaskType,
		"status": n.Status, "duration_ms": *n.DurationMs, "metadata": meta}
	if n.AgentID != nil {
		c["agent_id"] = *n.AgentID
	}
	if n.Scope != "" {
		c["scope"] = n.Scope
	}
	return c
}

// Create stores a new execution with a generated id.
func (s *Store) Create(ctx context.Context, n NewExecution) (Execution, error) {
	rows, err := surreal.Query[[]Execution](ctx, s.db, "CREATE executions CONTENT $content RETURN "+fields,
		map[string]any{"content": content(n)})
	if err != nil {
		return Execution{}, fmt.Errorf("create execution: %w", err)
	}
	if len(rows) != 1 {
		return Execution{}, fmt.Errorf("create execution: %d records returned", len(rows))
	}
	return rows[0], nil
}

// RecordEvent stores the execution of a bus event under the event's id, once:
// a redelivered or republished event finds its record and changes nothing.
// It reports whether this call created the record.
func (s *Store) RecordEvent(ctx context.Context, eventID string, n NewExecution, occurredAt time.Time) (bool, error) {
	c := content(n)
	c["id"] = models.NewRecordID(table, eventID)
	c["event_id"] = eventID
	c["created_at"] = models.CustomDateTime{Time: occurredAt.UTC()}
	rows, err := surreal.Query[[]Execution](ctx, s.db, "INSERT IGNORE INTO executions $content RETURN "+fields,
		map[string]any{"content": c})
	if err != nil {
		return false, fmt.Errorf("record execution event %s: %w", eventID, err)
	}
	return len(rows) == 1, nil
}

// Get returns one execution.
func (s *Store) Get(ctx context.Context, id string) (Execution, error) {
	ex, err := surreal.Query[*Execution](ctx, s.db, "SELECT "+fields+" FROM ONLY $id",
		map[string]any{"id": models.NewRecordID(table, id)})
	if err != nil {
		return Execution{}, fmt.Errorf("get execution %q: %w", id, err)
	}
	if ex == nil {
		return Execution{}, ErrNotFound
	}
	return *ex, nil
}

// List returns executions of f's scopes matching f, newest first, and
// whether more follow.
func (s *Store) List(ctx context.Context, f Filter) ([]Execution, bool, error) {
	vars := map[string]any{"limit": f.Limit + 1, "scopes": f.Scopes}
	if f.Scopes == nil {
		vars["scopes"] = []string{}
	}
	where := []string{"scope IN $scopes"}
	if f.Project != "" {
		where = append(where, "project = $project")
		vars["project"] = f.Project
	}
	if f.Source != "" {
		where = append(where, "source = $source")
		vars["source"] = f.Source
	}
	if !f.Since.IsZero() {
		where = append(where, "created_at >= $since")
		vars["since"] = models.CustomDateTime{Time: f.Since}
	}
	if !f.Until.IsZero() {
		where = append(where, "created_at < $until")
		vars["until"] = models.CustomDateTime{Time: f.Until}
	}
	if f.After != nil {
		where = append(where, "(created_at < $after_t OR (created_at = $after_t AND id < $after_id))")
		vars["after_t"] = models.CustomDateTime{Time: f.After.CreatedAt}
		vars["after_id"] = models.NewRecordID(table, f.After.ID)
	}
	sql := "SELECT " + fields + " FROM executions WHERE " + strings.Join(where, " AND ")
	sql += " ORDER BY created_at DESC, id DESC LIMIT $limit"
	rows, err := surreal.Query[[]Execution](ctx, s.db, sql, vars)
	if err != nil {
		return nil, false, fmt.Errorf("list executions: %w", err)
	}
	more := len(rows) > f.Limit
	if more {
		rows = rows[:f.Limit]
	}
	return rows, more, nil
}
