package vapora

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// Pusher is vapora-live-push: it hands each vapora.tasks.changed to the
// connections watching the project whose caller holds its scope, through
// the WebSocket API's @connections management API (POST
// /@connections/{id}, SigV4-signed for execute-api). A connection answered
// 410 Gone is closed and forgotten.
type Pusher struct {
	store *LiveStore
	mgmt  *awscfg.Service
}

// NewPusher pushes through mgmt, whose Endpoint is the management API's
// https://{api}.execute-api.{region}.amazonaws.com/{stage} (the devstack's
// Vapora gateway locally).
func NewPusher(store *LiveStore, mgmt *awscfg.Service) *Pusher {
	return &Pusher{store: store, mgmt: mgmt}
}

// ManagementAPI is the @connections API of the WebSocket API at endpoint.
func ManagementAPI(ctx context.Context, endpoint string) (*awscfg.Service, error) {
	if endpoint == "" {
		return nil, errors.New("VAPORA_WS_ENDPOINT: required (the WebSocket API's management endpoint)")
	}
	cfg, err := awscfg.Load(ctx, endpoint)
	if err != nil {
		return nil, fmt.Errorf("AWS configuration for the WebSocket management API: %w", err)
	}
	return &awscfg.Service{Signing: "execute-api", EnvName: "EXECUTE_API", Config: cfg, Endpoint: endpoint,
		Client: &http.Client{Timeout: 5 * time.Second}}, nil
}

// LivePush is what a watching page receives.
type LivePush struct {
	Type  string              `json:"type"`
	Event events.TasksChanged `json:"event"`
}

// Push sends one change to its watchers. A push that fails for another
// reason than 410 is logged and dropped: the page reloads its board when its
// socket comes back, and a redelivery would repeat the push to the others.
func (p *Pusher) Push(ctx context.Context, _ bus.Delivery, e events.TasksChanged) error {
	ids, err := p.store.Watching(ctx, e.ProjectID, e.Scope)
	if err != nil {
		return err
	}
	return p.send(ctx, ids, LivePush{Type: "tasks.changed", Event: e})
}

// send posts one message to each connection; one answered 410 is forgotten,
// another failure is logged.
func (p *Pusher) send(ctx context.Context, ids []string, msg any) error {
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	header := http.Header{"Content-Type": {"application/json"}}
	for _, id := range ids {
		_, _, err := p.mgmt.Do(ctx, http.MethodPost, "/@connections/"+url.PathEscape(id), header, body)
		var api *awscfg.APIError
		switch {
		case err == nil:
		case errors.As(err, &api) && api.Status == http.StatusGone:
			if err := p.store.Disconnect(ctx, id); err != nil {
				return err
			}
		default:
			obs.Log(ctx).Warn("push a change", "connection", id, "err", err)
		}
	}
	return nil
}

// StagePush is what a page watching a pipeline's project receives when a
// stage changes status.
type StagePush struct {
	Type  string      `json:"type"` // pipelines.stage
	Event StageChange `json:"event"`
}

// StageChange is a vapora.pipelines.stage with the pipeline's project.
type StageChange struct {
	events.StageEvent
	ProjectID string `json:"project_id"`
}

// PushStage sends a stage's new status to the connections watching its
// pipeline's project in its scope; a pipeline that is gone has no watchers.
func (p *Pusher) PushStage(ctx context.Context, _ bus.Delivery, e events.StageEvent) error {
	project, scope, err := p.store.PipelineProject(ctx, e.PipelineID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ids, err := p.store.Watching(ctx, project, scope)
	if err != nil {
		return err
	}
	return p.send(ctx, ids, StagePush{Type: "pipelines.stage", Event: StageChange{StageEvent: e, ProjectID: project}})
}

// AgentPush is what a page watching the agents receives.
type AgentPush struct {
	Type  string               `json:"type"` // agents.changed
	Event events.AgentsChanged `json:"event"`
}

// PushAgent sends an agent's change to the connections watching the agents.
func (p *Pusher) PushAgent(ctx context.Context, _ bus.Delivery, e events.AgentsChanged) error {
	ids, err := p.store.WatchingAgents(ctx)
	if err != nil {
		return err
	}
	return p.send(ctx, ids, AgentPush{Type: "agents.changed", Event: e})
}

// Handler is vapora-live-push's consumer: each subject to its push.
func (p *Pusher) Handler() bus.Handler {
	by := map[string]bus.Handler{
		events.SubjectTasksChanged:  bus.Typed(p.Push),
		events.SubjectPipelineStage: bus.Typed(p.PushStage),
		events.SubjectAgentsChanged: bus.Typed(p.PushAgent),
	}
	return func(ctx context.Context, d bus.Delivery) error {
		h, ok := by[d.Subject]
		if !ok {
			return bus.Permanent(fmt.Errorf("vapora-live-push: no push for subject %q", d.Subject))
		}
		return h(ctx, d)
	}
}
