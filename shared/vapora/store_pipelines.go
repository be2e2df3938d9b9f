package vapora

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// ---- pipelines ----------------------------------------------------------------
//
// A pipeline is one record; every change writes it whole, and only if it is
// still at the version it was read at (errStale otherwise: read it again).

func optionalTime(t *time.Time) any {
	if t == nil {
		return models.None
	}
	return *t
}

func pipelineContent(p Pipeline, version int) map[string]any {
	return map[string]any{"project_id": p.ProjectID, "scope": p.Scope, "name": p.Name, "status": p.Status,
		"requester": p.Requester, "stages": p.Stages, "failed_stage": optional(p.FailedStage), "version": version,
		"approval_due": optionalTime(p.nextDue()), "created_at": p.CreatedAt, "updated_at": p.UpdatedAt}
}

// CreatePipeline stores a new pipeline at version 1.
func (s *Store) CreatePipeline(ctx context.Context, p Pipeline) (Pipeline, error) {
	rows, err := surreal.Query[[]Pipeline](ctx, s.db, "CREATE $id CONTENT $c RETURN "+fields,
		map[string]any{"id": rid("pipelines", p.ID), "c": pipelineContent(p, 1)})
	if err != nil || len(rows) != 1 {
		return Pipeline{}, errors.Join(fmt.Errorf("create pipeline: %w", err), errIfEmpty(len(rows)))
	}
	return rows[0], nil
}

// Pipeline reads one pipeline.
func (s *Store) Pipeline(ctx context.Context, id string) (Pipeline, error) {
	p, err := surreal.Query[*Pipeline](ctx, s.db, "SELECT "+fields+" FROM ONLY $id", map[string]any{"id": rid("pipelines", id)})
	if err != nil {
		return Pipeline{}, fmt.Errorf("read pipeline: %w", err)
	}
	if p == nil {
		return Pipeline{}, ErrNotFound
	}
	return *p, nil
}

// SavePipeline writes p if it is still at the version it was read at.
func (s *Store) SavePipeline(ctx context.Context, p Pipeline) (Pipeline, error) {
	rows, err := surreal.Query[[]Pipeline](ctx, s.db, "UPDATE $id CONTENT $c WHERE version = $v RETURN "+fields,
		map[string]any{"id": rid("pipelines", p.ID), "c": pipelineContent(p, p.Version+1), "v": p.Version})
	if err != nil {
		return Pipeline{}, fmt.Errorf("save pipeline: %w", err)
	}
	if len(rows) == 0 {
		return Pipeline{}, errStale
	}
	return rows[0], nil
}

// Pipelines lists a project's pipelines, newest first.
func (s *Store) Pipelines(ctx context.Context, project string, limit int) ([]Pipeline, error) {
	list, err := surreal.Query[[]Pipeline](ctx, s.db, "SELECT "+fields+" FROM pipelines WHERE project_id = $p ORDER BY created_at DESC LIMIT $n",
		map[string]any{"p": project, "n": limit})
	if err != nil {
		return nil, fmt.Errorf("list pipelines: %w", err)
	}
	return list, nil
}

// DuePipelines are the Running pipelines with a gate whose time ran out.
func (s *Store) DuePipelines(ctx context.Context, now time.Time, limit int) ([]string, error) {
	ids, err := surreal.Query[[]string](ctx, s.db, `SELECT VALUE record::id(id) FROM pipelines
		WHERE status = 'Running' AND approval_due != NONE AND approval_due <= $now LIMIT $n`, map[string]any{"now": now, "n": limit})
	if err != nil {
		return nil, fmt.Errorf("find due approvals: %w", err)
	}
	return ids, nil
}

// ActivePipelines are the pipelines that run a task now (Running or RollingBack).
func (s *Store) ActivePipelines(ctx context.Context, limit int) ([]Pipeline, error) {
	list, err := surreal.Query[[]Pipeline](ctx, s.db, "SELECT "+fields+" FROM pipelines WHERE status IN ['Running', 'RollingBack'] LIMIT $n",
		map[string]any{"n": limit})
	if err != nil {
		return nil, fmt.Errorf("list active pipelines: %w", err)
	}
	return list, nil
}

// EnsureTask creates t with its own id, or reads it when a previous try did.
func (s *Store) EnsureTask(ctx context.Context, t Task) (Task, error) {
	cur, err := s.Task(ctx, t.ID)
	if !errors.Is(err, ErrNotFound) {
		return cur, err
	}
	created, err := s.CreateTask(ctx, t)
	if isDuplicate(err) {
		return s.Task(ctx, t.ID)
	}
	return created, err
}

// ReleaseTask takes a cancelled stage's task off its agent: back to Todo,
// unassigned, and the agent sheds its load, in one transaction, only if the
// task is still in the column and with the agent it was read with.
func (s *Store) ReleaseTask(ctx context.Context, t Task) (bool, error) {
	if t.AssignedAgent == nil {
		return false, nil
	}
	res, err := surreal.QueryAll[any](ctx, s.db, surreal.Atomic(`
LET $moved = UPDATE $task SET status = 'Todo', assigned_agent = NONE, rank = time::nano(), updated_at = time::now()
	WHERE status = $from AND assigned_agent = $agentID RETURN VALUE id;
IF array::len($moved) > 0 {
	UPDATE $agent SET current_load = math::max([0.0, current_load - $load]),
		status = IF status = 'Busy' THEN 'Ready' ELSE status END RETURN NONE;
};
RETURN array::len($moved);`), map[string]any{"task": rid("tasks", t.ID), "from": t.Status, "agentID": *t.AssignedAgent,
		"agent": rid("agents", *t.AssignedAgent), "load": loadPerTask})
	if rankClash(err) {
		return false, errStale
	}
	if err != nil {
		return false, fmt.Errorf("release task: %w", err)
	}
	return asInt(res[len(res)-1]) > 0, nil
}

// asInt reads a count decoded from CBOR.
func asInt(v any) int64 {
	switch n := v.(type) {
	case uint64:
		return int64(n)
	case int64:
		return n
	case int:
		return int64(n)
	case float64:
		return int64(n)
	}
	return 0
}
