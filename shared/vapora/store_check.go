package vapora

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// The board check's reads and writes (check.go holds its logic).

// boardSnapshotSQL reads the records (a table scan: WITH NOINDEX) and what
// the index lists per column, in one statement, hence one transaction: one
// consistent view even while writers are active.
const boardSnapshotSQL = `RETURN {
	build: (INFO FOR INDEX idx_tasks_rank ON tasks).building,
	records: (SELECT record::id(id) AS id, project_id, status, rank FROM tasks WITH NOINDEX WHERE project_id IN $ps),
	index: array::map($ps, |$p| {
		project: $p,
		Todo: (SELECT record::id(id) AS id, project_id, status, rank FROM tasks WITH INDEX idx_tasks_rank WHERE project_id = $p AND status = 'Todo'),
		Doing: (SELECT record::id(id) AS id, project_id, status, rank FROM tasks WITH INDEX idx_tasks_rank WHERE project_id = $p AND status = 'Doing'),
		Review: (SELECT record::id(id) AS id, project_id, status, rank FROM tasks WITH INDEX idx_tasks_rank WHERE project_id = $p AND status = 'Review'),
		Done: (SELECT record::id(id) AS id, project_id, status, rank FROM tasks WITH INDEX idx_tasks_rank WHERE project_id = $p AND status = 'Done')
	})
}`

// boardSnapshot is the records and index listings of projects, read in one statement.
type boardSnapshot struct {
	Build struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"build"`
	Records []boardRecord  `json:"records"`
	Index   []indexListing `json:"index"`
}

func (s *Store) boardSnapshot(ctx context.Context, projects []string) (boardSnapshot, error) {
	return surreal.Query[boardSnapshot](ctx, s.db, boardSnapshotSQL, map[string]any{"ps": projects})
}

// boardRecords reads a project's task records by a table scan (not the index).
func (s *Store) boardRecords(ctx context.Context, project string) ([]boardRecord, error) {
	return surreal.Query[[]boardRecord](ctx, s.db,
		"SELECT record::id(id) AS id, project_id, status, rank FROM tasks WITH NOINDEX WHERE project_id = $p", map[string]any{"p": project})
}

// ActiveProjects lists the ids of every Active project, of every scope.
func (s *Store) ActiveProjects(ctx context.Context) ([]string, error) {
	ids, err := surreal.Query[[]string](ctx, s.db, "RETURN array::sort((SELECT VALUE record::id(id) FROM projects WHERE status = 'Active'))", nil)
	if err != nil {
		return nil, fmt.Errorf("list active projects: %w", err)
	}
	return ids, nil
}

// rerankSQL parks every card of the broken columns on a rank no task uses,
// each write conditional on the record being as the check read it (else the
// whole transaction is cancelled), then sets the final ranks. Parking first
// keeps the unique index from seeing two cards on one rank halfway.
const rerankSQL = `BEGIN TRANSACTION;
FOR $s IN $steps {
	IF array::len(UPDATE $s.id SET rank = $s.park WHERE project_id = $p AND status = $s.status AND rank = $s.old RETURN VALUE id) = 0 {
		THROW "board changed: " + <string> $s.id;
	};
};
FOR $s IN $steps { UPDATE $s.id SET rank = $s.final WHERE project_id = $p AND status = $s.status RETURN NONE };
COMMIT TRANSACTION;`

// applyRerank runs the steps in one transaction; errBoardChanged if a card
// was not as planned (then nothing was written).
func (s *Store) applyRerank(ctx context.Context, project string, steps []rerankStep) error {
	if len(steps) == 0 {
		return nil
	}
	_, err := surreal.Query[any](ctx, s.db, rerankSQL, map[string]any{"steps": steps, "p": project})
	var qe *surreal.QueryError
	if errors.As(err, &qe) && strings.Contains(qe.Message, "board changed") {
		return fmt.Errorf("%w: %s", errBoardChanged, qe.Message)
	}
	return err
}

// rebuildRankIndex rebuilds idx_tasks_rank from the records. SurrealDB 3.0.2
// runs REBUILD INDEX in its index builder, in transactions of its own (it
// clears the index, indexes the table in batches and replays the writes made
// meanwhile), so it cannot be part of the repair's transaction: inside one
// that has written, it fails on a write conflict. The statement waits until
// the index is built again.
func (s *Store) rebuildRankIndex(ctx context.Context) error {
	if _, err := surreal.Query[any](ctx, s.db, "REBUILD INDEX idx_tasks_rank ON TABLE tasks", nil); err != nil {
		return fmt.Errorf("rebuild index idx_tasks_rank: %w", err)
	}
	return nil
}
