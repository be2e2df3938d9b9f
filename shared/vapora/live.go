package vapora

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// Live is vapora-live, the integration of Vapora's API Gateway WebSocket
// API: $connect authenticates the caller as the HTTP API does (X-API-Key or
// Authorization header, or ?token= with either kind, since a browser cannot
// set headers on a WebSocket) and records the connection with its scopes;
// $default takes {"action":"subscribe","project_id":…} for a project Cedar
// lets the caller read, and {"action":"ping"}; $disconnect forgets it.
type Live struct {
	store *LiveStore
	auth  *principal.Authenticator
	authz *authz.Engine
}

// NewLive builds the WebSocket integration.
func NewLive(store *LiveStore, auth *principal.Authenticator, engine *authz.Engine) *Live {
	return &Live{store: store, auth: auth, authz: engine}
}

// LiveMessage is what a connection sends on $default and what it is answered.
type LiveMessage struct {
	Action    string `json:"action,omitempty"`
	Type      string `json:"type,omitempty"`
	ProjectID string `json:"project_id,omitempty"`
	Message   string `json:"message,omitempty"`
}

// Handle is the Lambda entry point: an API Gateway WebSocket event in, a
// proxy response out. A $connect answered other than 200 refuses the
// connection; a $default answer is sent back to the connection (the route's
// response selection is $default).
func (l *Live) Handle(ctx context.Context, payload []byte) ([]byte, error) {
	var ev events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return reply(http.StatusBadRequest, LiveMessage{Type: "error", Message: "not an API Gateway WebSocket event: " + err.Error()})
	}
	id := ev.RequestContext.ConnectionID
	if id == "" {
		return reply(http.StatusBadRequest, LiveMessage{Type: "error", Message: "requestContext.connectionId: required"})
	}
	switch ev.RequestContext.RouteKey {
	case "$connect":
		return l.connect(ctx, id, ev)
	case "$disconnect":
		if err := l.store.Disconnect(ctx, id); err != nil {
			return nil, err
		}
		return reply(http.StatusOK, LiveMessage{Type: "bye"})
	case "$default":
		return l.message(ctx, id, ev.Body)
	}
	return reply(http.StatusBadRequest, LiveMessage{Type: "error", Message: fmt.Sprintf("route %q: want $connect, $disconnect or $default", ev.RequestContext.RouteKey)})
}

func (l *Live) connect(ctx context.Context, id string, ev events.APIGatewayWebsocketProxyRequest) ([]byte, error) {
	r, _ := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	for k, v := range ev.Headers {
		r.Header.Set(k, v)
	}
	if t := ev.QueryStringParameters["token"]; t != "" {
		if strings.Count(t, ".") == 2 {
			r.Header.Set("Authorization", "Bearer "+t)
		} else {
			r.Header.Set("X-API-Key", t)
		}
	}
	p, err := l.auth.Authenticate(r)
	if err != nil {
		return reply(http.StatusUnauthorized, LiveMessage{Type: "error", Message: err.Error()})
	}
	c := Connection{ID: id, Subject: p.Subject, Person: p.Person, Scopes: p.Scopes}
	if c.Scopes == nil {
		c.Scopes = []string{}
	}
	if err := l.store.Connect(ctx, c); err != nil {
		return nil, err
	}
	return reply(http.StatusOK, LiveMessage{Type: "connected"})
}

func (l *Live) message(ctx context.Context, id, body string) ([]byte, error) {
	var m LiveMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return reply(http.StatusBadRequest, LiveMessage{Type: "error", Message: "want a JSON message: " + err.Error()})
	}
	switch m.Action {
	case "ping":
		return reply(http.StatusOK, LiveMessage{Type: "pong"})
	case "subscribe":
	case "subscribe_agents":
		return l.subscribeAgents(ctx, id)
	default:
		return reply(http.StatusBadRequest, LiveMessage{Type: "error", Message: fmt.Sprintf("action %q: want subscribe, subscribe_agents or ping", m.Action)})
	}
	if !idPattern.MatchString(m.ProjectID) {
		return reply(http.StatusBadRequest, LiveMessage{Type: "error", Message: fmt.Sprintf("project_id %q is malformed", m.ProjectID)})
	}
	c, err := l.store.Connection(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return reply(http.StatusGone, LiveMessage{Type: "error", Message: "this connection is not known: connect again"})
	}
	if err != nil {
		return nil, err
	}
	if !l.mayRead(ctx, c, m.ProjectID) {
		return reply(http.StatusNotFound, LiveMessage{Type: "error", ProjectID: m.ProjectID, Message: "no such project"})
	}
	if err := l.store.Subscribe(ctx, id, m.ProjectID); err != nil {
		return nil, err
	}
	return reply(http.StatusOK, LiveMessage{Type: "subscribed", ProjectID: m.ProjectID})
}

// subscribeAgents makes a connection watch the agents, if Cedar lets its
// caller read them.
func (l *Live) subscribeAgents(ctx context.Context, id string) ([]byte, error) {
	c, err := l.store.Connection(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return reply(http.StatusGone, LiveMessage{Type: "error", Message: "this connection is not known: connect again"})
	}
	if err != nil {
		return nil, err
	}
	if !l.decide(ctx, c, "read_agents", agentsEntity) {
		return reply(http.StatusForbidden, LiveMessage{Type: "error", Message: "you may not read the agents"})
	}
	if err := l.store.SubscribeAgents(ctx, id); err != nil {
		return nil, err
	}
	return reply(http.StatusOK, LiveMessage{Type: "subscribed", Action: "subscribe_agents"})
}

// mayRead asks Cedar whether the connection's caller may read the project;
// a project that does not exist is refused as one that may not be read.
func (l *Live) mayRead(ctx context.Context, c Connection, project string) bool {
	scope, err := l.store.ProjectScope(ctx, project)
	if err != nil {
		if !errors.Is(err, ErrNotFound) {
			obs.Log(ctx).Warn("live subscribe: read project", "project_id", project, "err", err)
		}
		return false
	}
	return l.decide(ctx, c, "read", projectEntity(Project{ID: project, Scope: scope}))
}

// decide asks Cedar whether the connection's caller may do action on res.
func (l *Live) decide(ctx context.Context, c Connection, action string, res cedar.Entity) bool {
	caller := authz.Caller(&principal.Principal{Subject: c.Subject, Scopes: c.Scopes, Person: c.Person})
	return l.authz.Authorize(ctx, authz.Request{Principal: caller.UID, Action: cedar.NewEntityUID("Action", cedar.String(action)),
		Resource: res.UID, Entities: authz.Entities(caller, res)}).Allowed
}

func reply(status int, m LiveMessage) ([]byte, error) {
	body, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return json.Marshal(events.APIGatewayProxyResponse{StatusCode: status, Body: string(body),
		Headers: map[string]string{"Content-Type": "application/json"}})
}
