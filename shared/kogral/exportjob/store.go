package exportjob

import (
	"context"
	"fmt"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Store keeps export jobs and their results (tables export_jobs and
// export_parts of database "kogral", schemas/surreal/kogral/004) and reads
// the graph a job exports. A run's writes name the attempt that owns the job
// and are checked in the statement, so two instances running one job (a
// redelivery while a slow run goes on) cannot mix their results.
type Store struct{ db *surreal.Client }

// NewStore is a store over db.
func NewStore(db *surreal.Client) *Store { return &Store{db: db} }

func jobID(id string) models.RecordID { return models.NewRecordID("export_jobs", id) }
func partID(id string, attempt, n int) models.RecordID {
	return models.NewRecordID("export_parts", fmt.Sprintf("%s/%d/%d", id, attempt, n))
}

func datetime(t time.Time) models.CustomDateTime { return models.CustomDateTime{Time: t.UTC()} }

const recordFields = "*, record::id(id) AS id"

// Create queues a job, first purging expired jobs and results.
func (s *Store) Create(ctx context.Context, id string, req Request, now time.Time) (Record, error) {
	if _, err := surreal.Query[any](ctx, s.db, surreal.Atomic(`
DELETE export_parts WHERE expires_at < time::now();
DELETE export_jobs WHERE expires_at < time::now();`), nil); err != nil {
		return Record{}, fmt.Errorf("purge expired export jobs: %w", err)
	}
	nonNil := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	job := map[string]any{"graph": req.Graph, "format": req.Format, "graphs": nonNil(req.Graphs), "readable": nonNil(req.Readable),
		"requested_by": req.RequestedBy, "status": StatusQueued, "created_at": datetime(now), "updated_at": datetime(now),
		"expires_at": datetime(now.Add(TTL))}
	if _, err := surreal.Query[any](ctx, s.db, "CREATE ONLY $id CONTENT $job", map[string]any{"id": jobID(id), "job": job}); err != nil {
		return Record{}, fmt.Errorf("create export job %s: %w", id, err)
	}
	return s.Get(ctx, id)
}

// Get reads a job that has not expired.
func (s *Store) Get(ctx context.Context, id string) (Record, error) {
	r, err := surreal.Query[[]Record](ctx, s.db, "SELECT "+recordFields+" FROM $id WHERE expires_at > time::now()",
		map[string]any{"id": jobID(id)})
	if err != nil {
		return Record{}, fmt.Errorf("get export job %s: %w", id, err)
	}
	if len(r) == 0 {
		return Record{}, ErrNotFound
	}
	return r[0], nil
}

// Claim makes a new run the owner of a job that is queued or running (a
// run that crashed or timed out), from scratch. false: the job has ended,
// expired or does not exist, and there is nothing to run.
func (s *Store) Claim(ctx context.Context, id string) (Record, bool, error) {
	r, err := surreal.Query[[]Record](ctx, s.db, `UPDATE $id SET status = 'running', attempt += 1, done = 0, total = 0,
	updated_at = time::now() WHERE status IN ['queued', 'running'] AND expires_at > time::now() RETURN AFTER`,
		map[string]any{"id": jobID(id)})
	if err != nil {
		return Record{}, false, fmt.Errorf("claim export job %s: %w", id, err)
	}
	if len(r) == 0 {
		return Record{}, false, nil
	}
	r[0].ID = id
	return r[0], true, nil
}

// owned runs an update of a job that applies only while attempt owns it
// and it has not ended (a queued job is attempt 0's: the API fails it when
// it cannot announce it).
func (s *Store) owned(ctx context.Context, what, id string, attempt int, set string, vars map[string]any) error {
	vars["id"], vars["attempt"] = jobID(id), attempt
	r, err := surreal.Query[[]int](ctx, s.db, "UPDATE $id SET "+set+
		", updated_at = time::now() WHERE attempt = $attempt AND status IN ['queued', 'running'] RETURN VALUE attempt", vars)
	if err != nil {
		return fmt.Errorf("%s of export job %s: %w", what, id, err)
	}
	if len(r) == 0 {
		return ErrSuperseded
	}
	return nil
}

// Progress records how far a run has come.
func (s *Store) Progress(ctx context.Context, id string, attempt, done, total int) error {
	return s.owned(ctx, "progress", id, attempt, "done = $done, total = $total", map[string]any{"done": done, "total": total})
}

// SavePart keeps part n of a run's result.
func (s *Store) SavePart(ctx context.Context, id string, attempt, n int, data []byte, expires time.Time) error {
	part := map[string]any{"job": id, "attempt": attempt, "n": n, "data": data, "expires_at": datetime(expires)}
	if _, err := surreal.Query[any](ctx, s.db, "UPSERT $pid CONTENT $part RETURN NONE",
		map[string]any{"pid": partID(id, attempt, n), "part": part}); err != nil {
		return fmt.Errorf("save part %d of export job %s: %w", n, id, err)
	}
	return nil
}

// Succeed ends a run with its result, saved in parts: size bytes of
// contentType, drawn from the graphs sources.
func (s *Store) Succeed(ctx context.Context, id string, attempt, size, parts int, contentType string, sources []string) error {
	if sources == nil {
		sources = []string{}
	}
	err := s.owned(ctx, "end", id, attempt, "status = 'succeeded', done = total, size = $size, parts = $parts, content_type = $ct, sources = $sources",
		map[string]any{"size": size, "parts": parts, "ct": contentType, "sources": sources})
	if err != nil {
		return err
	}
	// Parts of earlier runs (that crashed or were taken over) are no longer read.
	if _, err := surreal.Query[any](ctx, s.db, "DELETE export_parts WHERE job = $job AND attempt != $attempt",
		map[string]any{"job": id, "attempt": attempt}); err != nil {
		return fmt.Errorf("drop earlier parts of export job %s: %w", id, err)
	}
	return nil
}

// Fail ends a run (or, attempt 0, a queued job) with its error.
func (s *Store) Fail(ctx context.Context, id string, attempt int, cause string) error {
	return s.owned(ctx, "failure", id, attempt, "status = 'failed', error = $error", map[string]any{"error": cause})
}

// Abandon fails a job that has not ended and has had no news since before:
// its runs stopped without a word (crashed, or were killed at their
// timeout) and no delivery is left to run it. false: it had news, or ended.
func (s *Store) Abandon(ctx context.Context, id string, before time.Time, cause string) (bool, error) {
	r, err := surreal.Query[[]int](ctx, s.db, `UPDATE $id SET status = 'failed', error = $cause, updated_at = time::now()
	WHERE status IN ['queued', 'running'] AND updated_at < $before RETURN VALUE attempt`,
		map[string]any{"id": jobID(id), "before": datetime(before), "cause": cause})
	if err != nil {
		return false, fmt.Errorf("abandon export job %s: %w", id, err)
	}
	return len(r) > 0, nil
}

// Part reads part n of a succeeded job's result.
func (s *Store) Part(ctx context.Context, r Record, n int) ([]byte, error) {
	data, err := surreal.Query[[][]byte](ctx, s.db, "SELECT VALUE data FROM $pid", map[string]any{"pid": partID(r.ID, r.Attempt, n)})
	if err != nil {
		return nil, fmt.Errorf("read part %d of export job %s: %w", n, r.ID, err)
	}
	if len(data) == 0 {
		return nil, ErrNotFound
	}
	return data[0], nil
}

// Size is how much an export holds: its nodes and edges, and the
// characters of its nodes' titles and contents.
type Size struct {
	Nodes, Edges, Chars int
}

// Items is the nodes and edges.
func (z Size) Items() int { return z.Nodes + z.Edges }

// Counts is the size of an export of graphs, its edges being those that
// touch graphs and whose ends are both in readable.
func (s *Store) Counts(ctx context.Context, graphs, readable []string) (Size, error) {
	type count struct {
		Count int `json:"count"`
		Chars int `json:"chars"`
	}
	res, err := surreal.QueryAll[[]count](ctx, s.db, `SELECT count() AS count, math::sum(string::len(title) + string::len(content)) AS chars
	FROM nodes WHERE graph_id IN $graphs GROUP ALL; SELECT count() AS count FROM links WHERE `+edgeWhere+" GROUP ALL;",
		map[string]any{"graphs": graphs, "readable": readable})
	if err != nil {
		return Size{}, fmt.Errorf("count export: %w", err)
	}
	var z Size
	if len(res[0]) > 0 {
		z.Nodes, z.Chars = res[0][0].Count, res[0][0].Chars
	}
	if len(res[1]) > 0 {
		z.Edges = res[1][0].Count
	}
	return z, nil
}

const edgeWhere = "(in.graph_id IN $graphs OR out.graph_id IN $graphs) AND in.graph_id IN $readable AND out.graph_id IN $readable"

// Nodes reads the next page of the nodes of graphs, by id, after the id after ("" first).
func (s *Store) Nodes(ctx context.Context, graphs []string, after string, limit int) ([]kogral.Node, error) {
	list, err := surreal.Query[[]kogral.Node](ctx, s.db, "SELECT "+kogral.NodeFields+
		" FROM nodes WHERE graph_id IN $graphs AND record::id(id) > $after ORDER BY id LIMIT $limit",
		map[string]any{"graphs": graphs, "after": after, "limit": limit})
	if err != nil {
		return nil, fmt.Errorf("export nodes after %q: %w", after, err)
	}
	return list, nil
}

// GraphEdge is an exported edge with the graphs of its ends.
type GraphEdge struct {
	kogral.Edge
	SourceGraph string `json:"source_graph"`
	TargetGraph string `json:"target_graph"`
}

// Edges reads the edges of an export of graphs (see Counts).
func (s *Store) Edges(ctx context.Context, graphs, readable []string) ([]GraphEdge, error) {
	list, err := surreal.Query[[]GraphEdge](ctx, s.db, "SELECT "+kogral.EdgeFields+
		", in.graph_id AS source_graph, out.graph_id AS target_graph FROM links WHERE "+edgeWhere,
		map[string]any{"graphs": graphs, "readable": readable})
	if err != nil {
		return nil, fmt.Errorf("export edges: %w", err)
	}
	return list, nil
}
