package vapora

import (
	"context"
	"fmt"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// The board index's reads (board.go holds the index).

// startTaskFeed opens a cursor on the tasks change feed at the database's now.
func startTaskFeed(ctx context.Context, db *surreal.Client) (*surreal.FeedCursor, error) {
	return surreal.StartFeed(ctx, db)
}

// taskChangesSince reads up to limit change sets of the tasks feed from versionstamp from on.
func taskChangesSince(ctx context.Context, db *surreal.Client, from uint64, limit int) ([]taskChange, error) {
	return surreal.Query[[]taskChange](ctx, db,
		fmt.Sprintf("SHOW CHANGES FOR TABLE tasks SINCE %d LIMIT %d", from, limit), nil)
}

// boardRows reads where every task of a project stands.
func boardRows(ctx context.Context, db *surreal.Client, project string) ([]boardRow, error) {
	return surreal.Query[[]boardRow](ctx, db,
		"SELECT record::id(id) AS id, status, scope, rank FROM tasks WHERE project_id = $p", map[string]any{"p": project})
}

// taskFromRecords reads a task and its order from the records alone, in one
// statement (one snapshot, so they agree): the answer of a read whose record
// and board index kept disagreeing because the task kept moving. It counts
// the task's column, so it is slower than the index.
func (s *Store) taskFromRecords(ctx context.Context, id string) (Task, error) {
	r, err := surreal.Query[*taskRow](ctx, s.db, "SELECT "+fields+`, count(SELECT VALUE id FROM tasks
		WHERE project_id = $parent.project_id AND status = $parent.status AND rank < $parent.rank) AS order
		FROM ONLY $id`, map[string]any{"id": rid("tasks", id)})
	switch {
	case err != nil:
		return Task{}, fmt.Errorf("read task from its records: %w", err)
	case r == nil:
		return Task{}, ErrNotFound
	}
	return r.task(), nil
}

// pageFromRecords reads a page from the records alone, in one statement (one
// snapshot): the answer of a list whose records and board index kept
// disagreeing because its tasks kept moving. It sorts and counts each
// column, so it is slower than the index.
func (s *Store) pageFromRecords(ctx context.Context, project string, statuses []string, offset, limit int) (Page, error) {
	vars := map[string]any{"p": project, "offset": offset, "limit": limit}
	columns := make([]string, len(statuses))
	for i, st := range statuses {
		vars[fmt.Sprintf("s%d", i)] = st
		columns[i] = fmt.Sprintf(`{tasks: (SELECT %s FROM tasks WHERE project_id = $p AND status = $s%d
			ORDER BY rank LIMIT $limit START $offset), total: count(SELECT VALUE id FROM tasks
			WHERE project_id = $p AND status = $s%[2]d)}`, pageFields, i)
	}
	cols, err := surreal.Query[[]struct {
		Tasks []pageRow `json:"tasks"`
		Total int       `json:"total"`
	}](ctx, s.db, "RETURN ["+strings.Join(columns, ", ")+"]", vars)
	if err != nil {
		return Page{}, fmt.Errorf("list tasks from their records: %w", err)
	}
	page := Page{Tasks: []Task{}, Totals: map[string]int{}}
	for i, col := range cols {
		page.Totals[statuses[i]] = col.Total
		for n, r := range col.Tasks {
			t := r.task()
			t.Order = offset + n
			page.Tasks = append(page.Tasks, t)
		}
	}
	return page, nil
}
