package vapora

import (
	"context"
	"fmt"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// LiveStore keeps the WebSocket connections watching boards
// (schemas/surreal/vapora/010_live_connections.surql).
type LiveStore struct {
	db  *surreal.Client
	now func() time.Time
}

// NewLiveStore is the connections' store in db.
func NewLiveStore(db *surreal.Client) *LiveStore { return &LiveStore{db: db, now: time.Now} }

// Connection is one browser's WebSocket: who opened it and the projects it watches.
type Connection struct {
	ID       string   `json:"id"`
	Subject  string   `json:"subject"`
	Person   string   `json:"person"`
	Scopes   []string `json:"scopes"`
	Projects []string `json:"projects"`
}

// Connect records a new connection (a reconnect under the same id replaces it).
func (s *LiveStore) Connect(ctx context.Context, c Connection) error {
	_, err := surreal.Query[any](ctx, s.db, "UPSERT $id CONTENT $c RETURN NONE", map[string]any{"id": rid("live_connections", c.ID),
		"c": map[string]any{"subject": c.Subject, "person": c.Person, "scopes": c.Scopes, "projects": []string{}, "agents": false, "connected_at": s.now().UTC()}})
	if err != nil {
		return fmt.Errorf("record connection %s: %w", c.ID, err)
	}
	return nil
}

// Connection reads one connection; ErrNotFound when it is gone.
func (s *LiveStore) Connection(ctx context.Context, id string) (Connection, error) {
	c, err := surreal.Query[*Connection](ctx, s.db,
		"SELECT record::id(id) AS id, subject, person, scopes, projects FROM ONLY $id", map[string]any{"id": rid("live_connections", id)})
	if err != nil {
		return Connection{}, fmt.Errorf("read connection %s: %w", id, err)
	}
	if c == nil {
		return Connection{}, ErrNotFound
	}
	return *c, nil
}

// Subscribe adds a project to what a connection watches, in one statement
// (two messages of one connection may land on two instances).
func (s *LiveStore) Subscribe(ctx context.Context, id, project string) error {
	_, err := surreal.Query[any](ctx, s.db, "UPDATE $id SET projects = array::union(projects, [$p]) RETURN NONE",
		map[string]any{"id": rid("live_connections", id), "p": project})
	if err != nil {
		return fmt.Errorf("subscribe %s to %s: %w", id, project, err)
	}
	return nil
}

// Disconnect forgets a connection.
func (s *LiveStore) Disconnect(ctx context.Context, id string) error {
	if _, err := surreal.Query[any](ctx, s.db, "DELETE $id", map[string]any{"id": rid("live_connections", id)}); err != nil {
		return fmt.Errorf("forget connection %s: %w", id, err)
	}
	return nil
}

// Watching lists the connections watching project whose caller holds scope.
func (s *LiveStore) Watching(ctx context.Context, project, scope string) ([]string, error) {
	ids, err := surreal.Query[[]string](ctx, s.db,
		"SELECT VALUE record::id(id) FROM live_connections WHERE projects CONTAINS $p AND scopes CONTAINS $s",
		map[string]any{"p": project, "s": scope})
	if err != nil {
		return nil, fmt.Errorf("connections watching %s: %w", project, err)
	}
	return ids, nil
}

// ProjectScope reads a project's scope; ErrNotFound when there is no such project.
func (s *LiveStore) ProjectScope(ctx context.Context, project string) (string, error) {
	scope, err := surreal.Query[*string](ctx, s.db, "SELECT VALUE scope FROM ONLY $id", map[string]any{"id": rid("projects", project)})
	if err != nil {
		return "", fmt.Errorf("read project %s: %w", project, err)
	}
	if scope == nil {
		return "", ErrNotFound
	}
	return *scope, nil
}

// SubscribeAgents makes a connection watch the agents too.
func (s *LiveStore) SubscribeAgents(ctx context.Context, id string) error {
	_, err := surreal.Query[any](ctx, s.db, "UPDATE $id SET agents = true RETURN NONE", map[string]any{"id": rid("live_connections", id)})
	if err != nil {
		return fmt.Errorf("subscribe %s to the agents: %w", id, err)
	}
	return nil
}

// WatchingAgents lists the connections watching the agents.
func (s *LiveStore) WatchingAgents(ctx context.Context) ([]string, error) {
	ids, err := surreal.Query[[]string](ctx, s.db, "SELECT VALUE record::id(id) FROM live_connections WHERE agents = true", nil)
	if err != nil {
		return nil, fmt.Errorf("connections watching the agents: %w", err)
	}
	return ids, nil
}

// PipelineProject reads a pipeline's project and scope; ErrNotFound when there is no such pipeline.
func (s *LiveStore) PipelineProject(ctx context.Context, pipeline string) (project, scope string, err error) {
	row, err := surreal.Query[*struct {
		ProjectID string `json:"project_id"`
		Scope     string `json:"scope"`
	}](ctx, s.db, "SELECT project_id, scope FROM ONLY $id", map[string]any{"id": rid("pipelines", pipeline)})
	if err != nil {
		return "", "", fmt.Errorf("read pipeline %s: %w", pipeline, err)
	}
	if row == nil {
		return "", "", ErrNotFound
	}
	return row.ProjectID, row.Scope, nil
}
