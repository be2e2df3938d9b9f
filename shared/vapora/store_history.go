package vapora

import (
	"context"
	"fmt"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// A card's history (schemas/surreal/vapora/011_task_history.surql): every
// write that moves a task, reorders it or changes its assignee leaves an
// entry in the same transaction, so an entry exists if and only if the
// write committed.

// HistoryEntry is one change of a task.
type HistoryEntry struct {
	ID         string    `json:"id"`
	TaskID     string    `json:"task_id"`
	Kind       string    `json:"kind"` // created, status, order or assigned
	FromStatus *string   `json:"from_status"`
	ToStatus   string    `json:"to_status"`
	FromAgent  *string   `json:"from_agent"`
	ToAgent    *string   `json:"to_agent"`
	FromOrder  *int      `json:"from_order"`
	ToOrder    *int      `json:"to_order"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
}

// History is a page of a task's history, oldest first.
type History struct {
	TaskID  string         `json:"task_id"`
	Entries []HistoryEntry `json:"entries"`
	// More says entries follow this page (ask again from offset+len(entries)).
	More bool `json:"more"`
}

type actorKey struct{}

// WithActor names who makes the task writes done with ctx when no caller is
// authenticated on it (a consumer acting for an agent, a sweep).
func WithActor(ctx context.Context, who string) context.Context {
	return context.WithValue(ctx, actorKey{}, who)
}

// actor is who makes a write: the authenticated person, else WithActor's
// name, else Vapora itself.
func actor(ctx context.Context) string {
	if p := principal.From(ctx); p != nil {
		if p.Person != "" {
			return p.Person
		}
		return p.Subject
	}
	if who, ok := ctx.Value(actorKey{}).(string); ok && who != "" {
		return who
	}
	return "vapora"
}

// mark is what a write tells its history entry ($h): the kind of change,
// who made it, and for a reorder the positions from and to.
func mark(ctx context.Context, kind string, orders ...int) map[string]any {
	h := map[string]any{"kind": kind, "by": actor(ctx), "from_order": models.None, "to_order": models.None}
	if len(orders) == 2 {
		h["from_order"], h["to_order"] = orders[0], orders[1]
	}
	return h
}

// withHistory makes a task write and its history entry one transaction.
// task names the task's record ($id, $task), write is the conditional write,
// returning the written rows (none when its condition failed), and also runs
// when it wrote. The entry ($h, a mark) is created when the write created
// the task, reordered it, or changed its column or its assignee. The
// transaction's result is the write's rows.
func withHistory(task, write, also string) string {
	return surreal.Atomic(recordHistory(task, write, also))
}

// recordHistory is withHistory's statements, for a transaction that writes more.
func recordHistory(task, write, also string) string {
	return `LET $before = (SELECT status, assigned_agent FROM ONLY ` + task + `);
LET $rows = (` + write + `);
IF array::len($rows) > 0 {
	` + also + `
	LET $after = (SELECT status, assigned_agent, project_id FROM ONLY ` + task + `);
	` + historyEntry(task) + `
};
RETURN $rows;`
}

// historyFields is what a write given to withReturnedHistory returns: the
// task's fields, and its column and assignee before the write.
const historyFields = fields + ", $before.status AS was_status, $before.assigned_agent AS was_agent"

// withReturnedHistory is withHistory for an UPDATE of one task that returns
// historyFields: the entry is made from what the write returned, without
// reading the task before and after it (two reads fewer in the transaction).
func withReturnedHistory(task, write string) string {
	return surreal.Atomic(`LET $rows = (` + write + `);
IF array::len($rows) > 0 {
	LET $after = $rows[0];
	LET $before = { status: $after.was_status, assigned_agent: $after.was_agent };
	` + historyEntry(task) + `
};
RETURN $rows;`)
}

// historyEntry creates the entry ($h) of a write from $before and $after
// (the task's status and assigned_agent, and its project_id after).
func historyEntry(task string) string {
	return `IF $after != NONE AND ($h.kind IN ['created', 'order'] OR $before.status != $after.status OR $before.assigned_agent != $after.assigned_agent) {
		CREATE task_history CONTENT { task_id: record::id(` + task + `), project_id: $after.project_id,
			kind: IF $h.kind = 'status' AND $before.status = $after.status { 'assigned' } ELSE { $h.kind },
			from_status: $before.status, to_status: $after.status,
			from_agent: $before.assigned_agent, to_agent: $after.assigned_agent,
			from_order: $h.from_order, to_order: $h.to_order, by: $h.by, at: time::now() } RETURN NONE;
	};`
}

// History reads up to limit entries of a task's history from offset, oldest first.
func (s *Store) History(ctx context.Context, taskID string, offset, limit int) (History, error) {
	rows, err := surreal.Query[[]HistoryEntry](ctx, s.db, `SELECT *, record::id(id) AS id FROM task_history
		WHERE task_id = $t ORDER BY at, id LIMIT $n START $o`, map[string]any{"t": taskID, "n": limit + 1, "o": offset})
	if err != nil {
		return History{}, fmt.Errorf("read task history: %w", err)
	}
	h := History{TaskID: taskID, Entries: rows, More: len(rows) > limit}
	if h.More {
		h.Entries = rows[:limit]
	}
	if h.Entries == nil {
		h.Entries = []HistoryEntry{}
	}
	return h, nil
}
