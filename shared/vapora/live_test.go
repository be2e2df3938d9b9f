package vapora

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	stratumevents "github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

func liveFixture(t *testing.T) (*Live, *LiveStore, *Store) {
	t.Helper()
	s := testStores(t, "live_test", 1)[0]
	engine, err := authz.Load(schemas.Cedar, "cedar/vapora")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := principal.New(principal.Config{APIKeys: `[{"name":"dev","key_sha256":"` + principal.HashKey("dev-key") + `","scopes":["demo"]}]`})
	if err != nil {
		t.Fatal(err)
	}
	ls := NewLiveStore(s.db)
	return NewLive(ls, auth, engine), ls, s
}

// wsCall sends one API Gateway WebSocket event and reads the proxy response.
func wsCall(t *testing.T, l *Live, id, route, body string, query map[string]string) (int, LiveMessage) {
	t.Helper()
	raw, _ := json.Marshal(events.APIGatewayWebsocketProxyRequest{Body: body, QueryStringParameters: query,
		RequestContext: events.APIGatewayWebsocketProxyRequestContext{ConnectionID: id, RouteKey: route}})
	out, err := l.Handle(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var res events.APIGatewayProxyResponse
	var m LiveMessage
	if err := json.Unmarshal(out, &res); err != nil || json.Unmarshal([]byte(res.Body), &m) != nil {
		t.Fatalf("answer %s: %v", out, err)
	}
	return res.StatusCode, m
}

func TestLiveConnectSubscribeDisconnect(t *testing.T) {
	l, ls, s := liveFixture(t)
	ctx := context.Background()
	mine, _ := newBoard(t, s, 1)
	theirs, err := s.CreateProject(ctx, Project{Name: "theirs", Scope: "other", Status: "Active"})
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []map[string]string{nil, {"token": "wrong"}} {
		if code, _ := wsCall(t, l, "c0", "$connect", "", q); code != http.StatusUnauthorized {
			t.Fatalf("$connect with %v: %d, want 401", q, code)
		}
	}
	if _, err := ls.Connection(ctx, "c0"); err != ErrNotFound {
		t.Fatalf("a refused connection was recorded: %v", err)
	}
	if code, m := wsCall(t, l, "c1=", "$connect", "", map[string]string{"token": "dev-key"}); code != 200 || m.Type != "connected" {
		t.Fatalf("$connect: %d %+v", code, m)
	}
	cases := []struct {
		body string
		code int
		typ  string
	}{
		{`{"action":"subscribe","project_id":"` + mine + `"}`, 200, "subscribed"},
		{`{"action":"subscribe","project_id":"` + theirs.ID + `"}`, 404, "error"}, // Cedar: another scope
		{`{"action":"subscribe","project_id":"no-such"}`, 404, "error"},
		{`{"action":"subscribe","project_id":"../x"}`, 400, "error"},
		{`{"action":"dance"}`, 400, "error"},
		{`not json`, 400, "error"},
		{`{"action":"ping"}`, 200, "pong"},
	}
	for _, c := range cases {
		if code, m := wsCall(t, l, "c1=", "$default", c.body, nil); code != c.code || m.Type != c.typ {
			t.Errorf("%s: %d %+v, want %d %s", c.body, code, m, c.code, c.typ)
		}
	}
	if ids, _ := ls.Watching(ctx, mine, "demo"); !slices.Equal(ids, []string{"c1="}) {
		t.Fatalf("watching %s: %v", mine, ids)
	}
	if ids, _ := ls.Watching(ctx, theirs.ID, "other"); len(ids) != 0 {
		t.Fatalf("watching another scope's project: %v", ids)
	}
	wsCall(t, l, "c1=", "$disconnect", "", nil)
	if code, _ := wsCall(t, l, "c1=", "$default", `{"action":"subscribe","project_id":"`+mine+`"}`, nil); code != http.StatusGone {
		t.Fatalf("a message on a forgotten connection: %d, want 410", code)
	}
}

// TestPushForgetsGoneConnections pushes through a local server speaking the
// @connections management API: SigV4 for execute-api, 200 for an open
// connection, 410 GoneException for a closed one.
func TestPushForgetsGoneConnections(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local-secret")
	_, ls, s := liveFixture(t)
	ctx := context.Background()
	project, tasks := newBoard(t, s, 1)
	var mu sync.Mutex
	got := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/") || !strings.Contains(a, "/execute-api/aws4_request") {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		id, ok := strings.CutPrefix(r.URL.Path, "/prod/@connections/")
		if r.Method != http.MethodPost || !ok {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		if id == "gone=" {
			w.Header().Set("X-Amzn-ErrorType", "GoneException")
			w.WriteHeader(http.StatusGone)
			_, _ = io.WriteString(w, `{"message":"gone"}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		got[id] = string(body)
		mu.Unlock()
	}))
	defer srv.Close()
	for _, c := range []Connection{{ID: "open=", Scopes: []string{"demo"}}, {ID: "gone=", Scopes: []string{"demo"}}, {ID: "elsewhere=", Scopes: []string{"other"}}} {
		if err := ls.Connect(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := ls.Subscribe(ctx, c.ID, project); err != nil {
			t.Fatal(err)
		}
	}
	mgmt, err := ManagementAPI(ctx, srv.URL+"/prod")
	if err != nil {
		t.Fatal(err)
	}
	ev := stratumevents.TasksChanged{ID: "chg_1", ProjectID: project, Scope: "demo", TaskID: tasks[0], Change: "status", Status: "Doing"}
	if err := NewPusher(ls, mgmt).Push(ctx, bus.Delivery{}, ev); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !strings.Contains(got["open="], `"type":"tasks.changed"`) || !strings.Contains(got["open="], tasks[0]) {
		t.Fatalf("pushed %v", got)
	}
	left, _ := ls.Watching(ctx, project, "demo")
	if !slices.Equal(left, []string{"open="}) {
		t.Fatalf("after a 410 the project is watched by %v", left)
	}
}
