package vapora

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Store keeps Vapora's records in SurrealDB (database "vapora"). Moves and
// reorders of tasks are single conditional writes, checked in the statement
// and by the unique rank index; the consumers' read-modify-writes of a task
// and its agent also take their locks (bus.Locks), so a redelivered event
// sees what the previous delivery left.
type Store struct {
	db    *surreal.Client
	locks *bus.Locks
	board *boardIndex
	now   func() time.Time
}

// NewStore returns a store over db, serialized by locks.
func NewStore(db *surreal.Client, locks *bus.Locks) *Store {
	return &Store{db: db, locks: locks, board: newBoardIndex(db), now: func() time.Time { return time.Now().UTC() }}
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

// boardLock serializes the consumers' moves of a project's tasks, which read
// a task before they move it.
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
		scope: $p.scope, status: $p.status, approvers: $p.approvers, created_at: time::now(), updated_at: time::now() } RETURN `+fields,
		map[string]any{"id": rid("projects", p.ID), "p": map[string]any{"name": p.Name, "description": optional(p.Description), "scope": p.Scope,
			"status": p.Status, "approvers": optional(p.Approvers)}})
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

// UpdateProject writes name, description, status and approvers.
func (s *Store) UpdateProject(ctx context.Context, p Project) (Project, error) {
	rows, err := surreal.Query[[]Project](ctx, s.db, `UPDATE $id SET name = $name, description = $description,
		status = $status, approvers = $approvers, updated_at = time::now() RETURN `+fields,
		map[string]any{"id": rid("projects", p.ID), "name": p.Name, "description": optional(p.Description), "status": p.Status,
			"approvers": optional(p.Approvers)})
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
	Rank       int64  `json:"rank"`
}

func (r taskRow) task() Task {
	t := r.Task
	t.Scope = r.ScopeField
	if t.Tags == nil {
		t.Tags = []string{}
	}
	return t
}

// rankClash is the unique rank index refusing a second task at the same
// rank of a column: two tasks entered it in the same nanosecond, or two
// reorders chose the same gap. Nothing was written; the writer tries again.
func rankClash(err error) bool {
	var qe *surreal.QueryError
	return errors.As(err, &qe) && strings.Contains(qe.Message, "idx_tasks_rank")
}

// rankClashTries bounds the tries of a write that keeps clashing on a rank;
// the last clash is a 409 (errStale), never a 500.
const rankClashTries = 8

// retryRankClash runs write until it does not clash on a rank, each try
// after a short jittered pause.
func retryRankClash(ctx context.Context, write func() error) error {
	return retryWhile(ctx, rankClash, write)
}

// retryWhile runs write until its error is not one again says to retry.
func retryWhile(ctx context.Context, again func(error) bool, write func() error) error {
	for attempt := range rankClashTries {
		err := write()
		if !again(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(1+rand.IntN(1<<min(attempt, 4))) * time.Millisecond):
		}
	}
	return fmt.Errorf("%w (its place in the column was taken %d times)", errStale, rankClashTries)
}

// orderTries bounds the reads of a task whose record and board disagree
// because it moved between the two; the later tries reload the board, and
// past them the records alone answer (taskFromRecords, pageFromRecords).
const orderTries = 8

// Task reads a task with its order: the record, then its position on the
// board index once that has caught up with every write before the read (in
// the record's round trip, when the index has not: taskThenFollow).
func (s *Store) Task(ctx context.Context, id string) (Task, error) {
	for attempt := range orderTries {
		if attempt > 0 {
			ctx = retrying(ctx)
		}
		r, rctx, err := s.taskThenFollow(ctx, id)
		if err != nil {
			return Task{}, fmt.Errorf("read task: %w", err)
		}
		if r == nil {
			return Task{}, ErrNotFound
		}
		if t, ok, err := s.placed(rctx, *r, attempt >= 2); err != nil || ok {
			return t, err
		}
	}
	return s.taskFromRecords(ctx, id)
}

// TaskRef reads what authorizing a task needs, which never changes: its
// project and scope, from the board index if it holds the task, else from
// its record (one read of two fields: no order, no board). A task the index
// still holds after it was deleted is authorized as it was; its write then
// finds nothing.
func (s *Store) TaskRef(ctx context.Context, id string) (project, scope string, err error) {
	if project, scope, ok := s.board.ref(id); ok {
		return project, scope, nil
	}
	r, err := surreal.Query[*struct {
		ProjectID string `json:"project_id"`
		Scope     string `json:"scope"`
	}](ctx, s.db, "SELECT project_id, scope FROM ONLY $id", map[string]any{"id": rid("tasks", id)})
	switch {
	case err != nil:
		return "", "", fmt.Errorf("read task: %w", err)
	case r == nil:
		return "", "", ErrNotFound
	}
	return r.ProjectID, r.Scope, nil
}

// placed gives a task read from the database its order; ok is false when
// the board holds it elsewhere (it moved since it was read).
func (s *Store) placed(ctx context.Context, r taskRow, reload bool) (Task, bool, error) {
	t := r.task()
	if err := s.board.ensure(ctx, t.ProjectID, reload); err != nil {
		return Task{}, false, err
	}
	order, ok := s.board.orderOf(t, r.Rank)
	t.Order = order
	return t, ok, nil
}

// withOrder gives a task a write returned its order, reading it again if it
// moved since. The board is caught up with the feed first, so the order
// counts every write acknowledged before this one, from any instance (a
// client whose requests land on different instances sees its own writes).
func (s *Store) withOrder(ctx context.Context, r taskRow) (Task, error) {
	t, ok, err := s.placed(ctx, r, false)
	if err != nil || ok {
		return t, err
	}
	return s.Task(ctx, t.ID)
}

// Page is part of a project's board: up to Limit tasks of each column from
// Offset, by column and order, and the size of every column.
type Page struct {
	Tasks  []Task         `json:"tasks"`
	Totals map[string]int `json:"totals"`
	// Truncated: the page left tasks out to stay within maxPageBytes.
	Truncated bool `json:"truncated,omitempty"`
}

// Tasks lists a page of each column of a project's board (one column if
// status is set): the board index names the tasks, one read fetches them.
func (s *Store) Tasks(ctx context.Context, project, status string, offset, limit int) (Page, error) {
	statuses := TaskStatuses
	if status != "" {
		statuses = []string{status}
	}
	page, ctx, ok, err := s.pageThenFollow(ctx, project, statuses, offset, limit)
	if err != nil || ok {
		return page, err
	}
	for attempt := range orderTries {
		if attempt > 0 {
			ctx = retrying(ctx)
		}
		if err := s.board.ensure(ctx, project, attempt >= 2); err != nil {
			return Page{}, err
		}
		page, ok, err := s.readPage(ctx, project, statuses, offset, limit)
		if err != nil || ok {
			return page, err
		}
	}
	return s.pageFromRecords(ctx, project, statuses, offset, limit)
}

// readPage fetches what the board index lists; ok is false when a record
// is no longer where the index put it.
func (s *Store) readPage(ctx context.Context, project string, statuses []string, offset, limit int) (Page, bool, error) {
	plan := s.board.pagePlan(project, statuses, offset, limit)
	if len(plan.want) == 0 {
		return plan.fill(nil, offset)
	}
	rows, err := surreal.Query[[]pageRow](ctx, s.db, pageSQL, map[string]any{"ids": plan.ids()})
	if err != nil {
		return Page{}, false, fmt.Errorf("list tasks: %w", err)
	}
	return plan.fill(rows, offset)
}

// pageSQL reads the records of a page: the fields a task shows, and its
// rank to check it is where the index put it. The id comes back as the
// record's id, not as record::id(id): that call cost SurrealDB 0.4 ms of CPU
// per 100 records here (of 3.2 ms for the whole read).
const pageSQL = "SELECT " + pageFields + " FROM $ids[*]"

const pageFields = `id, project_id, title, description, status, priority, assigned_agent, task_type, tags,
	rank, created_at, updated_at`

// pageRow is a record as pageSQL reads it.
type pageRow struct {
	ID            models.RecordID `json:"id"`
	ProjectID     string          `json:"project_id"`
	Title         string          `json:"title"`
	Description   *string         `json:"description"`
	Status        string          `json:"status"`
	Priority      string          `json:"priority"`
	AssignedAgent *string         `json:"assigned_agent"`
	TaskType      *string         `json:"task_type"`
	Tags          []string        `json:"tags"`
	Rank          int64           `json:"rank"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

func (r pageRow) task() Task {
	t := Task{ID: fmt.Sprint(r.ID.ID), ProjectID: r.ProjectID, Title: r.Title, Description: r.Description, Status: r.Status,
		Priority: r.Priority, AssignedAgent: r.AssignedAgent, TaskType: r.TaskType, Tags: r.Tags, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if t.Tags == nil {
		t.Tags = []string{}
	}
	return t
}

// CreateTask appends a task at the end of its column.
func (s *Store) CreateTask(ctx context.Context, t Task) (Task, error) {
	row, err := s.createTaskRow(ctx, t, nil, nil)
	if err != nil {
		return Task{}, err
	}
	return s.withOrder(ctx, row)
}

// createTaskRow creates a task (a new id if it has none), assigned to agent
// as taskType when they are given, and returns its record.
func (s *Store) createTaskRow(ctx context.Context, t Task, agent, taskType *string) (taskRow, error) {
	if t.ID == "" {
		t.ID = newID("task")
	}
	var row taskRow
	err := retryRankClash(ctx, func() error {
		rows, err := surreal.Query[[]taskRow](ctx, s.db, withHistory("$id", `CREATE $id CONTENT { project_id: $t.project_id, scope: $t.scope,
			title: $t.title, description: $t.description, status: $t.status, priority: $t.priority, tags: $t.tags,
			assigned_agent: $agent, task_type: $tt, rank: time::nano(), created_at: time::now(), updated_at: time::now() } RETURN `+fields, ""),
			map[string]any{"id": rid("tasks", t.ID), "h": mark(ctx, "created"), "agent": optional(agent), "tt": optional(taskType), "t": map[string]any{"project_id": t.ProjectID, "scope": t.Scope,
				"title": t.Title, "description": optional(t.Description), "status": t.Status, "priority": t.Priority, "tags": t.Tags}})
		if err != nil || len(rows) != 1 {
			return errors.Join(fmt.Errorf("create task: %w", err), errIfEmpty(len(rows)))
		}
		row = rows[0]
		return nil
	})
	return row, err
}

// UpdateTask writes a task's title, description, priority and tags.
func (s *Store) UpdateTask(ctx context.Context, t Task) (Task, error) {
	rows, err := surreal.Query[[]taskRow](ctx, s.db, `UPDATE $id SET title = $title, description = $description,
		priority = $priority, tags = $tags, updated_at = time::now() RETURN `+fields,
		map[string]any{"id": rid("tasks", t.ID), "title": t.Title, "description": optional(t.Description), "priority": t.Priority, "tags": t.Tags})
	if err != nil {
		return Task{}, fmt.Errorf("update task: %w", err)
	}
	if len(rows) == 0 {
		return Task{}, ErrNotFound
	}
	return s.withOrder(ctx, rows[0])
}

// moveSQL takes a task that is still in column $from to the end of column
// $to, with $agent as its assignee.
const moveSQL = `UPDATE $id SET rank = time::nano(), assigned_agent = $agent, updated_at = time::now(), status = $to
	WHERE status = $from RETURN `

// move puts the task in column to (at its end), with agent as its assignee;
// errStale if it left its column meanwhile.
func (s *Store) move(ctx context.Context, t Task, to string, agent *string) (Task, error) {
	row, err := s.moveRow(ctx, t, to, agent)
	if err != nil {
		return Task{}, err
	}
	return s.withOrder(ctx, row)
}

// moveRow is move's write; it returns the record without its order (the
// consumers, which do not show the task, skip the board index's catch-up).
func (s *Store) moveRow(ctx context.Context, t Task, to string, agent *string) (taskRow, error) {
	var row taskRow
	err := retryRankClash(ctx, func() error {
		rows, err := surreal.Query[[]taskRow](ctx, s.db, withHistory("$id", moveSQL+fields, ""),
			map[string]any{"id": rid("tasks", t.ID), "from": t.Status, "to": to, "agent": optional(agent), "h": mark(ctx, "status")})
		if err != nil {
			return fmt.Errorf("move task: %w", err)
		}
		if len(rows) == 0 {
			return errStale
		}
		row = rows[0]
		return nil
	})
	return row, err
}

// statusSQL moves a task along the board in one statement: only one step
// forward or back is written (the same status changes nothing), and the
// task goes to the end of its new column.
const statusSQL = `UPDATE $id SET
	rank = IF status = $to { rank } ELSE { time::nano() },
	updated_at = IF status = $to { updated_at } ELSE { time::now() },
	status = $to
	WHERE status = $to OR string::concat(status, '>', $to) IN $moves RETURN `

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

// SetStatus moves task id to status to. It takes no lock: the move is one
// conditional write, and the order it leaves is dense whatever runs beside it.
func (s *Store) SetStatus(ctx context.Context, id, to string) (Task, error) {
	row, ctx, err := s.statusRow(ctx, id, to)
	if err != nil {
		return Task{}, err
	}
	if row == nil {
		// Nothing written: the task is gone or the move is not allowed.
		cur, err := s.Task(ctx, id)
		if err != nil {
			return Task{}, err
		}
		return Task{}, &MoveError{From: cur.Status, To: to}
	}
	// The order is read after the write: a feed read running beside it
	// would miss a move another instance commits into the column meanwhile
	// and answer an order one too low. The write's round trip read it
	// (writeThenFollow), so withOrder has no read of the feed to make.
	return s.withOrder(ctx, *row)
}

// statusRow is SetStatus's write: the task's record, or nil when nothing
// was written, and a context that says the board index has caught up with
// the write (writeThenFollow).
func (s *Store) statusRow(ctx context.Context, id, to string) (*taskRow, context.Context, error) {
	var row *taskRow
	after := ctx
	clashOrConflict := func(err error) bool { return rankClash(err) || conflicted(err) }
	err := retryWhile(ctx, clashOrConflict, func() error {
		rows, actx, err := writeThenFollow[[]taskRow](ctx, s, withReturnedHistory("$id", statusSQL+historyFields),
			map[string]any{"id": rid("tasks", id), "to": to, "moves": moveList, "h": mark(ctx, "status")})
		if err != nil {
			return fmt.Errorf("set task status: %w", err)
		}
		if len(rows) == 1 {
			row = &rows[0]
		}
		after = actx
		return nil
	})
	return row, after, err
}

// errStale means the task changed between its read and its write.
var errStale = errors.New("the task changed meanwhile; read it again")

// OrderRangeError is an order outside its column.
type OrderRangeError struct {
	Order, Size int
	Status      string
}

func (e *OrderRangeError) Error() string {
	return fmt.Sprintf("order %d is outside the %s column (0–%d)", e.Order, e.Status, e.Size-1)
}

// rankGap is the room left before the first task when one is put there, and
// between tasks when a column is spread out.
const rankGap = 1 << 20

// Reorder puts task t (its ID and ProjectID are enough) at position order
// within its column: one conditional write of its rank, between its new
// neighbours', that holds only if the task and the gap are still as the
// board index has them. No lock: a concurrent reorder into the same gap
// clashes on the unique rank or fails the condition, and retries.
func (s *Store) Reorder(ctx context.Context, t Task, order int) (Task, error) {
	var out Task
	err := retryRankClash(ctx, func() error {
		var err error
		for attempt := range orderTries {
			// After the first try, the board this instance holds may lack
			// what closed the gap: reload it.
			actx := ctx
			if attempt > 0 {
				actx = retrying(ctx)
			}
			if out, err = s.reorder(actx, t, order, attempt > 0); !errors.Is(err, errGapClosed) {
				return err
			}
		}
		return err
	})
	return out, err
}

// errGapClosed means the place a reorder chose changed before its write.
var errGapClosed = fmt.Errorf("%w: the column changed", errStale)

// reorder plans the move on the board index, caught up with every write
// acknowledged before it began (the task's column and rank come from there;
// the write checks them), and writes it.
func (s *Store) reorder(ctx context.Context, t Task, order int, reload bool) (Task, error) {
	if err := s.board.ensure(ctx, t.ProjectID, reload); err != nil {
		return Task{}, err
	}
	cur, ok := s.board.held(t.ProjectID, t.ID)
	if !ok { // gone, or elsewhere than the index says: the record tells
		var err error
		if cur, err = s.Task(ctx, t.ID); err != nil {
			return Task{}, err
		}
	}
	n, ok := s.board.neighbours(cur, order)
	switch {
	case !ok:
		return Task{}, errGapClosed
	case order < 0 || order >= n.size:
		return Task{}, &OrderRangeError{Order: order, Size: n.size, Status: cur.Status}
	case order == cur.Order:
		return s.Task(ctx, cur.ID)
	case n.lo != nil && n.hi != nil && *n.hi-*n.lo < 2:
		// No room between the new neighbours: spread the column out first.
		if err := s.spread(ctx, cur.ProjectID, cur.Status); err != nil {
			return Task{}, err
		}
		return Task{}, errGapClosed
	}
	return s.writeRank(ctx, cur, n, order)
}

// writeRank moves a task between the neighbours n: the write holds only if
// the task is still where the index has it and nothing entered the gap. Its
// order is then the one asked: the index the gap was read from holds every
// write acknowledged before the reorder began.
func (s *Store) writeRank(ctx context.Context, cur Task, n gap, order int) (Task, error) {
	vars := map[string]any{"id": rid("tasks", cur.ID), "p": cur.ProjectID, "status": cur.Status, "old": n.rank, "h": mark(ctx, "order", cur.Order, order),
		"lo": int64(math.MinInt64), "hi": int64(math.MaxInt64), "last": n.hi == nil, "rank": 0}
	if n.lo != nil {
		vars["lo"] = *n.lo
	}
	switch {
	case n.hi == nil: // last: the clock, as for a task that enters the column
	case n.lo == nil:
		vars["hi"], vars["rank"] = *n.hi, *n.hi-rankGap
	default:
		vars["hi"], vars["rank"] = *n.hi, *n.lo+(*n.hi-*n.lo)/2
	}
	rows, err := surreal.Query[[]taskRow](ctx, s.db, withReturnedHistory("$id", `UPDATE $id SET rank = IF $last { time::nano() } ELSE { $rank },
		updated_at = time::now() WHERE status = $status AND rank = $old AND array::len((`+gapSQL+`)) = 0
		RETURN `+historyFields), vars)
	if err != nil {
		return Task{}, fmt.Errorf("reorder task: %w", err)
	}
	if len(rows) == 0 {
		return Task{}, errGapClosed
	}
	t := rows[0].task()
	t.Order = order
	return t, nil
}

// gapSQL finds a task of the column between ranks $lo and $hi other than
// $id. SurrealDB 3.0.2 reads it from the rank index starting past $lo and
// stops at the first entry (the LIMIT applies to the index scan, under the
// rank < $hi filter), which answers it: t is never inside its own gap. An
// ORDER BY, or no LIMIT, would read the column to its end instead
// (TestGapCheckReadsOneIndexEntry).
const gapSQL = `SELECT VALUE id FROM tasks WHERE project_id = $p AND status = $status AND rank > $lo AND rank < $hi AND id != $id LIMIT 1`

// spread re-ranks a column rankGap apart, keeping its order, in one
// transaction. The ranks pass through a range no task uses, so that the
// unique index never sees two tasks on one rank halfway. Each task must
// still hold the rank the plan read, else nothing is written (errGapClosed):
// a plan from a stale board would undo another instance's reorder.
func (s *Store) spread(ctx context.Context, project, status string) error {
	type step struct {
		ID    models.RecordID `json:"id"`
		Old   int64           `json:"old"`
		Park  int64           `json:"park"`
		Final int64           `json:"final"`
	}
	col, size := s.board.column(project, status, 0, math.MaxInt)
	if size == 0 {
		return nil
	}
	steps := make([]step, len(col))
	top := col[len(col)-1].rank
	for i, sl := range col {
		steps[i] = step{ID: rid("tasks", sl.id), Old: sl.rank, Park: math.MinInt64/2 + int64(i), Final: top - int64(len(col)-1-i)*rankGap}
	}
	_, err := surreal.Query[any](ctx, s.db, surreal.Atomic(`
FOR $s IN $steps {
	IF array::len((UPDATE $s.id SET rank = $s.park WHERE project_id = $p AND status = $status AND rank = $s.old)) = 0 {
		THROW 'column changed'
	}
};
FOR $s IN $steps { UPDATE $s.id SET rank = $s.final WHERE project_id = $p AND status = $status AND rank = $s.park };`),
		map[string]any{"steps": steps, "p": project, "status": status})
	var qe *surreal.QueryError
	if errors.As(err, &qe) && strings.Contains(qe.Message, "column changed") {
		return errGapClosed // planned from a column another instance changed: read it again
	}
	if err != nil {
		return fmt.Errorf("spread column %s: %w", status, err)
	}
	return nil
}

// DeleteTask removes a task; the ones after it move up by themselves.
func (s *Store) DeleteTask(ctx context.Context, t Task) error {
	// The agent holding the task's share of load (load_on) gets it back in
	// the same transaction.
	gone, err := surreal.Query[[]any](ctx, s.db, surreal.Atomic(`LET $gone = (DELETE $id RETURN BEFORE);
IF array::len($gone) > 0 AND $gone[0].load_on != NONE AND $gone[0].load_on != '' {
	UPDATE type::record('agents', $gone[0].load_on) SET `+lessLoadSQL+` RETURN NONE;
};
RETURN $gone;`), map[string]any{"id": rid("tasks", t.ID), "load": loadPerTask})
	if err != nil {
		return fmt.Errorf("delete task: %w", err)
	}
	if len(gone) == 0 {
		return ErrNotFound
	}
	return nil
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

// Beat is one heartbeat: an agent's status and load as of At.
type Beat struct {
	Agent  models.RecordID `json:"agent"`
	Status string          `json:"status"`
	Load   float64         `json:"load"`
	At     time.Time       `json:"at"`
}

// NewBeat is agent's heartbeat.
func NewBeat(agent, status string, load float64, at time.Time) Beat {
	return Beat{Agent: rid("agents", agent), Status: status, Load: load, At: at}
}

// Heartbeats records heartbeats in one round trip, in order; one older than
// what an agent last reported (a redelivery) changes nothing. It returns the
// agents that never registered, whose heartbeats were not recorded, the
// heartbeats that changed their agent's status (as recorded), and the
// agents they freed room on: Ready after the heartbeat, and either not
// Ready or at a higher load before it. A heartbeat never sets a load below
// the shares the agent's open tasks hold (load_on, still assigned to it,
// Todo or Doing), read in its transaction: an agent's figure sent before an
// assignment landed must not reopen the room it took.
func (s *Store) Heartbeats(ctx context.Context, beats []Beat) (unknown map[string]bool, changed []Beat, freed []string, err error) {
	unknown = map[string]bool{}
	if len(beats) == 0 {
		return unknown, nil, nil, nil
	}
	// The agents that exist are read before the writes: inside a transaction
	// SurrealDB 3.0.2 reads back an UPDATE of a missing record as a record
	// without an id. Only each agent's newest heartbeat of the batch can count: one write
	// per agent, in a fixed order, keeps concurrent batches' transactions
	// short and their conflicts few.
	newest := map[string]Beat{}
	for _, b := range beats {
		id := fmt.Sprint(b.Agent.ID)
		if cur, ok := newest[id]; !ok || b.At.After(cur.At) {
			newest[id] = b
		}
		unknown[id] = true
	}
	ids := slices.Sorted(maps.Keys(newest))
	agents := make([]models.RecordID, len(ids))
	beats = make([]Beat, len(ids))
	for i, id := range ids {
		beats[i], agents[i] = newest[id], newest[id].Agent
	}
	// Inside the transaction SurrealDB 3.0.2 reads the agents back without
	// their ids after the writes, so the states after are computed here:
	// the newest heartbeat's, if it was not older than the agent's last.
	res, err := surreal.Query[beatsRead](ctx, s.db, surreal.Atomic(`LET $known = SELECT record::id(id) AS id, status, current_load,
	time::nano(last_heartbeat) AS beat_ns FROM $agents[*];
LET $held = SELECT load_on AS id, count() AS tasks FROM tasks WHERE load_on IN $ids AND assigned_agent = load_on
	AND status IN ['Todo', 'Doing'] GROUP BY load_on;
FOR $b IN $beats {
	LET $load = math::max([$b.load, ($held[WHERE id = record::id($b.agent)][0].tasks ?? 0) * $share]);
	UPDATE $b.agent SET status = IF $b.status = 'Ready' AND $load >= 1.0 - 0.000001 THEN 'Busy' ELSE $b.status END,
		current_load = $load, last_heartbeat = $b.at WHERE last_heartbeat <= $b.at RETURN NONE;
};
RETURN { known: $known, held: $held };`), map[string]any{"beats": beats, "agents": agents, "ids": ids, "share": loadPerTask})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("heartbeats: %w", err)
	}
	before, held := map[string]beatState{}, map[string]int{}
	for _, k := range res.Known {
		if k.ID != "" { // SurrealDB 3.0.2 may read a missing record back without an id
			before[k.ID] = k
		}
	}
	for _, h := range res.Held {
		held[h.ID] = h.Tasks
	}
	for i, id := range ids {
		b, ok := before[id]
		if !ok {
			continue
		}
		delete(unknown, id)
		a := b
		if beat := beats[i]; b.BeatNs <= beat.At.UnixNano() {
			a = afterBeat(beat, held[id])
		}
		if a.Status != b.Status {
			changed = append(changed, Beat{Agent: beats[i].Agent, Status: a.Status, Load: a.Load, At: beats[i].At})
		}
		if a.Status == "Ready" && (b.Status != "Ready" || a.Load < b.Load-1e-9) {
			freed = append(freed, id)
		}
	}
	return unknown, changed, freed, nil
}

// afterBeat is an agent's state after beat, with tasks holding their
// shares of its load: what the heartbeat's UPDATE writes.
func afterBeat(beat Beat, tasks int) beatState {
	a := beatState{Status: beat.Status, Load: max(beat.Load, float64(tasks)*loadPerTask)}
	if a.Status == "Ready" && a.Load >= 1.0-0.000001 {
		a.Status = "Busy"
	}
	return a
}

// beatsRead is what the heartbeats' transaction reads: the agents before
// it, and how many tasks hold a share of each one's load.
type beatsRead struct {
	Known []beatState `json:"known"`
	Held  []struct {
		ID    string `json:"id"`
		Tasks int    `json:"tasks"`
	} `json:"held"`
}

// beatState is an agent's status and load, and when it last reported them.
type beatState struct {
	ID     string  `json:"id"`
	Status string  `json:"status"`
	Load   float64 `json:"current_load"`
	BeatNs int64   `json:"beat_ns"`
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

// Candidates are the agents of a role with their expertise on taskType,
// read in one round trip (it is on every stage's hand-over).
func (s *Store) Candidates(ctx context.Context, role, taskType string) ([]Candidate, error) {
	both, err := surreal.Query[struct {
		Agents    []Agent     `json:"agents"`
		Expertise []Expertise `json:"expertise"`
	}](ctx, s.db, `LET $agents = (SELECT `+fields+` FROM agents WHERE role = $role ORDER BY id);
RETURN { agents: $agents, expertise: (SELECT * OMIT id FROM expertise WHERE agent_id IN $agents.id AND task_type = $t) };`,
		map[string]any{"role": role, "t": taskType})
	if err != nil {
		return nil, fmt.Errorf("list agents with their expertise: %w", err)
	}
	exp := map[string]*Expertise{}
	for i := range both.Expertise {
		exp[both.Expertise[i].AgentID] = &both.Expertise[i]
	}
	out := make([]Candidate, len(both.Agents))
	for i, a := range both.Agents {
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
