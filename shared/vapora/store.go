package vapora

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Store keeps Vapora's records in SurrealDB (database "vapora"). Every
// change to a project's board, and every read-modify-write of an agent,
// runs under a lock (bus.Locks), because SurrealDB 3.0.2 transactions lose
// concurrent updates.
type Store struct {
	db    *surreal.Client
	locks *bus.Locks
	now   func() time.Time
}

// NewStore returns a store over db, serialized by locks.
func NewStore(db *surreal.Client, locks *bus.Locks) *Store {
	return &Store{db: db, locks: locks, now: func() time.Time { return time.Now().UTC() }}
}

// ErrNotFound is a missing record.
var ErrNotFound = errors.New("not found")

// errDuplicate means a message was applied before.
var errDuplicate = errors.New("already applied")

const fields = "*, record::id(id) AS id"

func rid(table, id string) models.RecordID { return models.NewRecordID(table, id) }

// optional is a nullable string as SurrealDB wants it: NONE, not NULL, for
// an option<string> field.
func optional(s *string) any {
	if s == nil {
		return models.None
	}
	return *s
}

// boardLock serializes the changes to one project's board: a move touches
// two columns, a reorder one, and both need a consistent view of them.
func boardLock(project string) string { return "board/" + project }
func agentLock(id string) string      { return "agent/" + id }

// locked runs f while holding the locks on keys.
func (s *Store) locked(ctx context.Context, f func() error, keys ...string) error {
	release, err := s.locks.Acquire(ctx, keys...)
	if err != nil {
		return fmt.Errorf("vapora lock: %w", err)
	}
	defer release()
	return f()
}

// ---- projects ---------------------------------------------------------------

func (s *Store) CreateProject(ctx context.Context, p Project) (Project, error) {
	p.ID = newID("prj")
	rows, err := surreal.Query[[]Project](ctx, s.db, `CREATE $id CONTENT { name: $p.name, description: $p.description,
		scope: $p.scope, status: $p.status, created_at: time::now(), updated_at: time::now() } RETURN `+fields,
		map[string]any{"id": rid("projects", p.ID), "p": map[string]any{"name": p.Name, "description": optional(p.Description), "scope": p.Scope, "status": p.Status}})
	if err != nil || len(rows) != 1 {
		return Project{}, errors.Join(fmt.Errorf("create project: %w", err), errIfEmpty(len(rows)))
	}
	return rows[0], nil
}

func errIfEmpty(n int) error {
	if n == 0 {
		return errors.New("no row returned")
	}
	return nil
}

func (s *Store) Project(ctx context.Context, id string) (Project, error) {
	p, err := surreal.Query[*Project](ctx, s.db, "SELECT "+fields+" FROM ONLY $id", map[string]any{"id": rid("projects", id)})
	if err != nil {
		return Project{}, fmt.Errorf("read project: %w", err)
	}
	if p == nil {
		return Project{}, ErrNotFound
	}
	return *p, nil
}

// Projects lists the projects of the given scopes, newest first.
func (s *Store) Projects(ctx context.Context, scopes []string, status string) ([]Project, error) {
	sql := "SELECT " + fields + " FROM projects WHERE scope IN $scopes"
	if status != "" {
		sql += " AND status = $status"
	}
	list, err := surreal.Query[[]Project](ctx, s.db, sql+" ORDER BY created_at DESC", map[string]any{"scopes": scopes, "status": status})
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return list, nil
}

// UpdateProject writes name, description and status.
func (s *Store) UpdateProject(ctx context.Context, p Project) (Project, error) {
	rows, err := surreal.Query[[]Project](ctx, s.db, `UPDATE $id SET name = $name, description = $description,
		status = $status, updated_at = time::now() RETURN `+fields,
		map[string]any{"id": rid("projects", p.ID), "name": p.Name, "description": optional(p.Description), "status": p.Status})
	if err != nil {
		return Project{}, fmt.Errorf("update project: %w", err)
	}
	if len(rows) == 0 {
		return Project{}, ErrNotFound
	}
	return rows[0], nil
}

// ---- tasks ------------------------------------------------------------------

type taskRow struct {
	Task
	ScopeField string `json:"scope"`
}

func (r taskRow) task() Task {
	t := r.Task
	t.Scope = r.ScopeField
	if t.Tags == nil {
		t.Tags = []string{}
	}
	return t
}

func (s *Store) Task(ctx context.Context, id string) (Task, error) {
	r, err := surreal.Query[*taskRow](ctx, s.db, "SELECT "+fields+" FROM ONLY $id", map[string]any{"id": rid("tasks", id)})
	if err != nil {
		return Task{}, fmt.Errorf("read task: %w", err)
	}
	if r == nil {
		return Task{}, ErrNotFound
	}
	return r.task(), nil
}

// Tasks lists a project's tasks by column and order.
func (s *Store) Tasks(ctx context.Context, project, status string) ([]Task, error) {
	sql := "SELECT " + fields + " FROM tasks WHERE project_id = $p"
	if status != "" {
		sql += " AND status = $s"
	}
	rows, err := surreal.Query[[]taskRow](ctx, s.db, sql+" ORDER BY status, order", map[string]any{"p": project, "s": status})
	if err != nil {
		return nil, fmt.Errorf("list tasks: %w", err)
	}
	out := make([]Task, len(rows))
	for i, r := range rows {
		out[i] = r.task()
	}
	// The board's column order, not the alphabet's.
	order := map[string]int{"Todo": 0, "Doing": 1, "Review": 2, "Done": 3}
	sort.SliceStable(out, func(i, j int) bool {
		if order[out[i].Status] != order[out[j].Status] {
			return order[out[i].Status] < order[out[j].Status]
		}
		return out[i].Order < out[j].Order
	})
	return out, nil
}

func (s *Store) columnSize(ctx context.Context, project, status string) (int, error) {
	n, err := surreal.Query[int](ctx, s.db, "RETURN count(SELECT id FROM tasks WHERE project_id = $p AND status = $s)",
		map[string]any{"p": project, "s": status})
	if err != nil {
		return 0, fmt.Errorf("count column: %w", err)
	}
	return n, nil
}

// CreateTask appends a task at the end of its column.
func (s *Store) CreateTask(ctx context.Context, t Task) (Task, error) {
	t.ID = newID("task")
	var out Task
	err := s.locked(ctx, func() error {
		n, err := s.columnSize(ctx, t.ProjectID, t.Status)
		if err != nil {
			return err
		}
		rows, err := surreal.Query[[]taskRow](ctx, s.db, `CREATE $id CONTENT { project_id: $t.project_id, scope: $t.scope,
			title: $t.title, description: $t.description, status: $t.status, priority: $t.priority, tags: $t.tags,
			order: $n, created_at: time::now(), updated_at: time::now() } RETURN `+fields,
			map[string]any{"id": rid("tasks", t.ID), "n": n, "t": map[string]any{"project_id": t.ProjectID, "scope": t.Scope,
				"title": t.Title, "description": optional(t.Description), "status": t.Status, "priority": t.Priority, "tags": t.Tags}})
		if err != nil || len(rows) != 1 {
			return errors.Join(fmt.Errorf("create task: %w", err), errIfEmpty(len(rows)))
		}
		out = rows[0].task()
		return nil
	}, boardLock(t.ProjectID))
	return out, err
}

// UpdateTask writes a task's title, description, priority and tags.
func (s *Store) UpdateTask(ctx context.Context, t Task) (Task, error) {
	var out Task
	err := s.locked(ctx, func() error {
		rows, err := surreal.Query[[]taskRow](ctx, s.db, `UPDATE $id SET title = $title, description = $description,
			priority = $priority, tags = $tags, updated_at = time::now() RETURN `+fields,
			map[string]any{"id": rid("tasks", t.ID), "title": t.Title, "description": optional(t.Description), "priority": t.Priority, "tags": t.Tags})
		if err != nil {
			return fmt.Errorf("update task: %w", err)
		}
		if len(rows) == 0 {
			return ErrNotFound
		}
		out = rows[0].task()
		return nil
	}, boardLock(t.ProjectID))
	return out, err
}

// The statements below select the ids to shift first and update them
// after: an UPDATE … WHERE order … that changes order while it walks an
// index can visit a record twice (seen here with SurrealDB 3.0.2).

// moveSQL takes a task out of its column (closing the gap) and appends it
// to the end of another, in one transaction.
const moveSQL = `BEGIN TRANSACTION;
LET $t = (SELECT * FROM ONLY $id);
IF $t = NONE OR $t.status != $from { THROW 'task moved concurrently' };
LET $after = (SELECT VALUE id FROM tasks WHERE project_id = $t.project_id AND status = $from AND order > $t.order);
UPDATE $after SET order -= 1;
LET $n = count(SELECT id FROM tasks WHERE project_id = $t.project_id AND status = $to);
UPDATE $id SET status = $to, order = $n, assigned_agent = $agent, updated_at = time::now();
COMMIT TRANSACTION;
SELECT ` + fields + ` FROM ONLY $id;`

// Move puts the task in column to (at its end), with agent as its assignee.
// The caller holds the task's current column and the target column locks.
func (s *Store) move(ctx context.Context, t Task, to string, agent *string) (Task, error) {
	res, err := surreal.QueryAll[any](ctx, s.db, moveSQL, map[string]any{"id": rid("tasks", t.ID), "from": t.Status, "to": to, "agent": optional(agent)})
	var qe *surreal.QueryError
	if errors.As(err, &qe) && strings.Contains(qe.Message, "task moved concurrently") {
		return Task{}, errStale
	}
	if err != nil {
		return Task{}, fmt.Errorf("move task: %w", err)
	}
	return decodeLast[taskRow](res)
}

// statusSQL moves a task along the board in one round trip: it checks the
// move (one step forward or back; the same status changes nothing), closes
// the gap in the old column and appends the task to the new one.
const statusSQL = `BEGIN TRANSACTION;
LET $t = (SELECT * FROM ONLY $id);
IF $t = NONE { THROW 'task not found' };
IF $t.status != $to AND string::concat($t.status, '>', $to) NOT IN $moves { THROW 'illegal move from ' + $t.status };
LET $after = (SELECT VALUE id FROM tasks WHERE project_id = $t.project_id AND status = $t.status AND order > $t.order);
LET $n = count(SELECT id FROM tasks WHERE project_id = $t.project_id AND status = $to);
IF $t.status != $to {
	UPDATE $after SET order -= 1;
	UPDATE $id SET status = $to, order = $n, updated_at = time::now();
};
COMMIT TRANSACTION;
SELECT ` + fields + ` FROM ONLY $id;`

// moves lists where a task may go from each status.
var moves = map[string][]string{"Todo": {"Doing"}, "Doing": {"Todo", "Review"}, "Review": {"Doing", "Done"}, "Done": {"Review"}}

// moveList is moves as "From>To" strings, for statusSQL.
var moveList = func() []string {
	var out []string
	for from, tos := range moves {
		for _, to := range tos {
			out = append(out, from+">"+to)
		}
	}
	return out
}()

// MoveError is a move the board forbids.
type MoveError struct{ From, To string }

func (e *MoveError) Error() string {
	return fmt.Sprintf("cannot move a task from %s to %s: tasks move one step along Todo → Doing → Review → Done, or one step back", e.From, e.To)
}

// SetStatus moves task id of project to status to, under the board's lock.
func (s *Store) SetStatus(ctx context.Context, project, id, to string) (Task, error) {
	var out Task
	err := s.locked(ctx, func() error {
		res, err := surreal.QueryAll[any](ctx, s.db, statusSQL, map[string]any{"id": rid("tasks", id), "to": to, "moves": moveList})
		var qe *surreal.QueryError
		switch {
		case errors.As(err, &qe) && strings.Contains(qe.Message, "task not found"):
			return ErrNotFound
		case errors.As(err, &qe) && strings.Contains(qe.Message, "illegal move from "):
			from := qe.Message[strings.Index(qe.Message, "illegal move from ")+len("illegal move from "):]
			return &MoveError{From: strings.Trim(strings.Fields(from + " ")[0], "'\""), To: to}
		case err != nil:
			return fmt.Errorf("set task status: %w", err)
		}
		out, err = decodeLast[taskRow](res)
		return err
	}, boardLock(project))
	return out, err
}

// errStale means the task changed between its read and its lock.
var errStale = errors.New("the task changed meanwhile; read it again")

// reorderSQL moves a task to position $new within its column, shifting the
// ones in between, in one transaction.
const reorderSQL = `BEGIN TRANSACTION;
LET $t = (SELECT * FROM ONLY $id);
IF $t.order != $old OR $t.status != $status { THROW 'task moved concurrently' };
IF $new < $old {
	LET $between = (SELECT VALUE id FROM tasks WHERE project_id = $t.project_id AND status = $status AND order >= $new AND order < $old);
	UPDATE $between SET order += 1;
} ELSE IF $new > $old {
	LET $between = (SELECT VALUE id FROM tasks WHERE project_id = $t.project_id AND status = $status AND order > $old AND order <= $new);
	UPDATE $between SET order -= 1;
};
UPDATE $id SET order = $new, updated_at = time::now();
COMMIT TRANSACTION;
SELECT ` + fields + ` FROM ONLY $id;`

// ErrOrderRange is an order outside its column.
type ErrOrderRange struct {
	Order, Size int
	Status      string
}

func (e *ErrOrderRange) Error() string {
	return fmt.Sprintf("order %d is outside the %s column (0–%d)", e.Order, e.Status, e.Size-1)
}

// Reorder puts a task at position order within its column.
func (s *Store) Reorder(ctx context.Context, t Task, order int) (Task, error) {
	var out Task
	err := s.locked(ctx, func() error {
		cur, err := s.Task(ctx, t.ID)
		if err != nil {
			return err
		}
		if cur.Status != t.Status {
			return errStale
		}
		n, err := s.columnSize(ctx, cur.ProjectID, cur.Status)
		if err != nil {
			return err
		}
		if order < 0 || order >= n {
			return &ErrOrderRange{Order: order, Size: n, Status: cur.Status}
		}
		res, err := surreal.QueryAll[any](ctx, s.db, reorderSQL, map[string]any{"id": rid("tasks", t.ID), "old": cur.Order,
			"new": order, "status": cur.Status})
		if err != nil {
			return fmt.Errorf("reorder task: %w", err)
		}
		out, err = decodeLast[taskRow](res)
		return err
	}, boardLock(t.ProjectID))
	return out, err
}

// DeleteTask removes a task and closes the gap in its column.
func (s *Store) DeleteTask(ctx context.Context, t Task) error {
	return s.locked(ctx, func() error {
		cur, err := s.Task(ctx, t.ID)
		if err != nil {
			return err
		}
		_, err = surreal.Query[any](ctx, s.db, `BEGIN TRANSACTION;
DELETE $id;
LET $after = (SELECT VALUE id FROM tasks WHERE project_id = $p AND status = $s AND order > $o);
UPDATE $after SET order -= 1;
COMMIT TRANSACTION;`, map[string]any{"id": rid("tasks", t.ID), "p": cur.ProjectID, "s": cur.Status, "o": cur.Order})
		if err != nil {
			return fmt.Errorf("delete task: %w", err)
		}
		return nil
	}, boardLock(t.ProjectID))
}

// SetAssignment records who a task is for and what type of work it is.
func (s *Store) SetAssignment(ctx context.Context, t Task, agent, taskType string) (Task, error) {
	var out Task
	err := s.locked(ctx, func() error {
		rows, err := surreal.Query[[]taskRow](ctx, s.db, `UPDATE $id SET assigned_agent = $a, task_type = $tt, updated_at = time::now()
			WHERE status = $s RETURN `+fields, map[string]any{"id": rid("tasks", t.ID), "a": agent, "tt": taskType, "s": t.Status})
		if err != nil {
			return fmt.Errorf("assign task: %w", err)
		}
		if len(rows) == 0 {
			return errStale
		}
		out = rows[0].task()
		return nil
	}, boardLock(t.ProjectID))
	return out, err
}

// ---- agents -------------------------------------------------------------------

func (s *Store) Agent(ctx context.Context, id string) (Agent, error) {
	a, err := surreal.Query[*Agent](ctx, s.db, "SELECT "+fields+" FROM ONLY $id", map[string]any{"id": rid("agents", id)})
	if err != nil {
		return Agent{}, fmt.Errorf("read agent: %w", err)
	}
	if a == nil {
		return Agent{}, ErrNotFound
	}
	return *a, nil
}

// Agents lists agents, optionally of one role.
func (s *Store) Agents(ctx context.Context, role string) ([]Agent, error) {
	sql := "SELECT " + fields + " FROM agents"
	if role != "" {
		sql += " WHERE role = $role"
	}
	list, err := surreal.Query[[]Agent](ctx, s.db, sql+" ORDER BY id", map[string]any{"role": role})
	if err != nil {
		return nil, fmt.Errorf("list agents: %w", err)
	}
	return list, nil
}

// Register creates or refreshes an agent: Ready, no load, alive now.
func (s *Store) Register(ctx context.Context, a Agent) (Agent, error) {
	if a.Capabilities == nil {
		a.Capabilities = []string{}
	}
	var out Agent
	err := s.locked(ctx, func() error {
		rows, err := surreal.Query[[]Agent](ctx, s.db, `UPSERT $id SET role = $role, provider = $provider, capabilities = $caps,
			status = 'Ready', current_load = 0.0, last_heartbeat = time::now(), registered_at = registered_at ?? time::now() RETURN `+fields,
			map[string]any{"id": rid("agents", a.ID), "role": a.Role, "provider": a.Provider, "caps": a.Capabilities})
		if err != nil || len(rows) != 1 {
			return errors.Join(fmt.Errorf("register agent: %w", err), errIfEmpty(len(rows)))
		}
		out = rows[0]
		return nil
	}, agentLock(a.ID))
	return out, err
}

// Heartbeat records an agent's status and load as of at, in one round
// trip; an older heartbeat (a redelivery) changes nothing. It reports
// ErrNotFound for an agent that never registered.
func (s *Store) Heartbeat(ctx context.Context, id, status string, load float64, at time.Time) error {
	res, err := surreal.QueryAll[any](ctx, s.db, `UPDATE $id SET status = $status, current_load = $load, last_heartbeat = $at
		WHERE last_heartbeat <= $at RETURN NONE;
RETURN record::exists($id);`, map[string]any{"id": rid("agents", id), "status": status, "load": load, "at": at})
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	if exists, _ := res[len(res)-1].(bool); !exists {
		return ErrNotFound
	}
	return nil
}

// Expertise lists the profiles of one role, or of the given agents for a task type.
func (s *Store) Expertise(ctx context.Context, role string) ([]Expertise, error) {
	list, err := surreal.Query[[]Expertise](ctx, s.db, "SELECT * OMIT id FROM expertise WHERE role = $role ORDER BY agent_id, task_type",
		map[string]any{"role": role})
	if err != nil {
		return nil, fmt.Errorf("read expertise: %w", err)
	}
	return list, nil
}

func (s *Store) expertiseFor(ctx context.Context, agents []string, taskType string) (map[string]*Expertise, error) {
	list, err := surreal.Query[[]Expertise](ctx, s.db, "SELECT * OMIT id FROM expertise WHERE agent_id IN $a AND task_type = $t",
		map[string]any{"a": agents, "t": taskType})
	if err != nil {
		return nil, fmt.Errorf("read expertise: %w", err)
	}
	out := map[string]*Expertise{}
	for i := range list {
		out[list[i].AgentID] = &list[i]
	}
	return out, nil
}

// Candidates are the agents of a role with their expertise on taskType.
func (s *Store) Candidates(ctx context.Context, role, taskType string) ([]Candidate, error) {
	agents, err := s.Agents(ctx, role)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(agents))
	for i, a := range agents {
		ids[i] = a.ID
	}
	exp, err := s.expertiseFor(ctx, ids, taskType)
	if err != nil {
		return nil, err
	}
	out := make([]Candidate, len(agents))
	for i, a := range agents {
		out[i] = Candidate{Agent: a, Expertise: exp[a.ID]}
	}
	return out, nil
}

// markApplied records that consumer applied msgID, inside the caller's
// transaction text: a second application fails on the existing record.
func appliedID(consumer, msgID string) models.RecordID {
	return rid("applied_messages", consumer+"/"+msgID)
}

func isDuplicate(err error) bool {
	var qe *surreal.QueryError
	return errors.As(err, &qe) && strings.Contains(qe.Message, "already exists")
}

// decodeLast decodes the last statement's result of a multi-statement query.
func decodeLast[T interface{ task() Task }](res []any) (Task, error) {
	if len(res) == 0 {
		return Task{}, errors.New("no result")
	}
	// Statement results come back untyped; they are re-read through JSON.
	raw, err := json.Marshal(res[len(res)-1])
	if err != nil {
		return Task{}, err
	}
	var row T
	if err := json.Unmarshal(raw, &row); err != nil {
		return Task{}, fmt.Errorf("decode task: %w", err)
	}
	return row.task(), nil
}
