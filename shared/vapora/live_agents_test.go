package vapora

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	stratumevents "github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// Agents going online, busy and offline are published on
// vapora.agents.changed (a heartbeat that changes nothing is not), and
// vapora-live-push hands each to the connections watching the agents only,
// in order.
func TestAgentChangesReachTheAgentsPage(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local-secret")
	ctx := context.Background()
	p := pipelineEngines(t, "live_agents", 1)[0]
	ag, store := p.Agents(), p.Agents().store
	engine, err := authz.Load(schemas.Cedar, "cedar/vapora")
	if err != nil {
		t.Fatal(err)
	}
	auth, err := principal.New(principal.Config{APIKeys: `[{"name":"dev","key_sha256":"` + principal.HashKey("dev-key") + `","scopes":["demo"]}]`})
	if err != nil {
		t.Fatal(err)
	}
	ls := NewLiveStore(store.db)
	live := NewLive(ls, auth, engine)
	for _, id := range []string{"agents=", "board="} {
		if code, m := wsCall(t, live, id, "$connect", "", map[string]string{"token": "dev-key"}); code != 200 {
			t.Fatalf("connect %s: %d %+v", id, code, m)
		}
	}
	if code, m := wsCall(t, live, "agents=", "$default", `{"action":"subscribe_agents"}`, nil); code != 200 || m.Action != "subscribe_agents" {
		t.Fatalf("subscribe_agents: %d %+v", code, m)
	}

	// An agent registers, its heartbeats say Busy (twice: the second changes
	// nothing), then it falls silent and the sweep takes it Offline.
	if err := ag.OnRegister(ctx, bus.Delivery{}, stratumevents.AgentRegistration{ID: "r1", AgentID: "dev-1", Role: "Developer"}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		beat := stratumevents.Heartbeat{AgentID: "dev-1", Status: "Busy", CurrentLoad: 0.75}
		if errs := ag.OnHeartbeats(ctx, []bus.Delivery{{Time: time.Now().Add(2 * time.Second)}}, []stratumevents.Heartbeat{beat}); errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	store.now = func() time.Time { return time.Now().UTC().Add(time.Hour) }
	if n, err := ag.Sweep(ctx, time.Second); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	msgs, err := ag.bus.ReadStream(ctx, "VAPORA", stratumevents.SubjectAgentsChanged, 100)
	if err != nil {
		t.Fatal(err)
	}
	var published []string
	for _, m := range msgs {
		var ev stratumevents.AgentsChanged
		if err := json.Unmarshal(m.Data, &ev); err != nil || ev.Validate() != nil {
			t.Fatalf("%s: %v", m.Data, err)
		}
		published = append(published, ev.Change+":"+ev.Status)
	}
	if got := strings.Join(published, " "); got != "registered:Ready status:Busy offline:Offline" {
		t.Fatalf("published %q", got)
	}

	// The pushes, through a local @connections API.
	var mu sync.Mutex
	pushed := map[string][]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strings.CutPrefix(r.URL.Path, "/prod/@connections/")
		var push AgentPush
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &push); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		pushed[id] = append(pushed[id], push.Type+" "+push.Event.AgentID+" "+push.Event.Status)
		mu.Unlock()
	}))
	defer srv.Close()
	mgmt, err := ManagementAPI(ctx, srv.URL+"/prod")
	if err != nil {
		t.Fatal(err)
	}
	h := NewPusher(ls, mgmt).Handler()
	for _, m := range msgs {
		if err := h(ctx, bus.Delivery{Subject: m.Subject, Data: m.Data}); err != nil {
			t.Fatal(err)
		}
	}
	want := "agents.changed dev-1 Ready|agents.changed dev-1 Busy|agents.changed dev-1 Offline"
	if got := strings.Join(pushed["agents="], "|"); got != want || len(pushed) != 1 {
		t.Fatalf("pushed %v, want %q to agents= only", pushed, want)
	}
	if err := h(ctx, bus.Delivery{Subject: "vapora.other", Data: []byte(`{}`)}); !bus.IsPermanent(err) {
		t.Fatalf("an unknown subject: %v", err)
	}
}

// A stage's new status goes to the connections watching its pipeline's
// project in its scope, with the project named; a pipeline that is gone
// has no watchers.
func TestStageChangesReachThePipelinesPage(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local-secret")
	ctx := context.Background()
	_, ls, s := liveFixture(t)
	project, _ := newBoard(t, s, 0)
	now := time.Now().UTC()
	p, err := s.CreatePipeline(ctx, Pipeline{ID: "pl_live", ProjectID: project, Scope: "demo", Name: "ship", Status: PipelineRunning,
		Requester: "ana", Stages: []Stage{{Name: "build", TaskType: "build", Role: "Developer", Status: StageRunning}},
		CreatedAt: now, UpdatedAt: now}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []Connection{{ID: "watching=", Scopes: []string{"demo"}}, {ID: "elsewhere=", Scopes: []string{"other"}}, {ID: "idle=", Scopes: []string{"demo"}}} {
		if err := ls.Connect(ctx, c); err != nil {
			t.Fatal(err)
		}
		if c.ID != "idle=" {
			if err := ls.Subscribe(ctx, c.ID, project); err != nil {
				t.Fatal(err)
			}
		}
	}
	var mu sync.Mutex
	pushed := map[string][]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, _ := strings.CutPrefix(r.URL.Path, "/prod/@connections/")
		var push StagePush
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &push) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		pushed[id] = append(pushed[id], push.Type+" "+push.Event.ProjectID+" "+push.Event.Stage+" "+push.Event.Status)
		mu.Unlock()
	}))
	defer srv.Close()
	mgmt, err := ManagementAPI(ctx, srv.URL+"/prod")
	if err != nil {
		t.Fatal(err)
	}
	h := NewPusher(ls, mgmt).Handler()
	for _, ev := range []stratumevents.StageEvent{{ID: "st1", PipelineID: p.ID, Stage: "build", Status: "AwaitingApproval"},
		{ID: "st2", PipelineID: "pl_gone", Stage: "build", Status: "Running"}} {
		data, _ := json.Marshal(ev)
		if err := h(ctx, bus.Delivery{Subject: stratumevents.SubjectPipelineStage, Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	want := "pipelines.stage " + project + " build AwaitingApproval"
	if got := strings.Join(pushed["watching="], "|"); got != want || len(pushed) != 1 {
		t.Fatalf("pushed %v, want %q to watching= only", pushed, want)
	}
}
