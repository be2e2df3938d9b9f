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
	body, err := json.Marshal(LivePush{Type: "tasks.changed", Event: e})
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
			obs.Log(ctx).Warn("push a board change", "connection", id, "project_id", e.ProjectID, "err", err)
		}
	}
	return nil
}
