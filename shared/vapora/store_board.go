package vapora

import (
	"context"
	"fmt"

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
