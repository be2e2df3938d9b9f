package exportjob_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/apifn"
	"github.com/stratumiops/stratumiops/shared/kogral/exportjob"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// published keeps what kogral-api announces; deliver hands it to
// kogral-export's handler as the bus would.
type published struct {
	mu   sync.Mutex
	msgs []bus.Delivery
}

func (p *published) Publish(_ context.Context, subject, msgID string, v any, _ map[string]string) (bool, error) {
	data, err := json.Marshal(v)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, bus.Delivery{Subject: subject, MsgID: msgID, Data: data, Attempt: 1})
	return false, err
}

func (p *published) deliver(t *testing.T, h bus.Handler) {
	t.Helper()
	p.mu.Lock()
	msgs := p.msgs
	p.msgs = nil
	p.mu.Unlock()
	for _, d := range msgs {
		if d.Subject != events.SubjectExportRequested {
			t.Fatalf("published on %s", d.Subject)
		}
		if err := h(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
}

type reply struct {
	status int
	header http.Header
	body   string
}

func exportAPI(t *testing.T) (http.Handler, *published, bus.Handler) {
	h, pub, consumer, _ := exportAPIWithJobs(t)
	return h, pub, consumer
}

func exportAPIWithJobs(t *testing.T) (http.Handler, *published, bus.Handler, *exportjob.Store) {
	t.Helper()
	jobs, store := exportjob.Fixture(t)
	engine, err := authz.Load(schemas.Cedar, "cedar/kogral")
	if err != nil {
		t.Fatal(err)
	}
	var keys []principal.APIKey
	for name, scope := range map[string]string{"acme": "acme", "globex": "globex", "admin": apifn.AdminScope} {
		keys = append(keys, principal.APIKey{Name: name, KeySHA256: principal.HashKey(name), Scopes: []string{scope}})
	}
	raw, _ := json.Marshal(keys)
	auth, err := principal.New(principal.Config{APIKeys: string(raw)})
	if err != nil {
		t.Fatal(err)
	}
	pub := &published{}
	access := apifn.NewAccess(store, engine)
	h := apifn.APISpec().Handler(apifn.New(access, auth, nil).WithExports(access, jobs, pub))
	return h, pub, exportjob.OnRequested(exportjob.NewRunner(jobs, exportjob.DefaultMaxBytes), 3), jobs
}

func call(t *testing.T, h http.Handler, key, method, target, body string) reply {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	req.Header.Set("X-API-Key", key)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	raw, _ := io.ReadAll(rec.Body)
	return reply{rec.Code, rec.Header(), string(raw)}
}

// A caller queues an export of a graph it reads (202 and Location), the
// consumer runs it, and the caller follows the job to its result; another
// scope cannot read the job or its result (403), an unknown job is a 404.
func TestExportJobThroughTheAPI(t *testing.T) {
	h, pub, consumer := exportAPI(t)
	r := call(t, h, "acme", "POST", "/exports", `{"graph":"acme"}`)
	var job apifn.ExportJob
	if r.status != http.StatusAccepted || json.Unmarshal([]byte(r.body), &job) != nil || job.Status != exportjob.StatusQueued ||
		r.header.Get("Location") != "/exports/"+job.ID || job.Location != r.header.Get("Location") || job.Format != "json" {
		t.Fatalf("queue: %d %v %s", r.status, r.header, r.body)
	}
	if r := call(t, h, "acme", "GET", "/exports/"+job.ID+"/result", ""); r.status != http.StatusConflict || !strings.Contains(r.body, "is queued") {
		t.Fatalf("result of a queued job: %d %s", r.status, r.body)
	}
	pub.deliver(t, consumer)
	r = call(t, h, "acme", "GET", "/exports/"+job.ID, "")
	if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &job) != nil || job.Status != exportjob.StatusSucceeded ||
		job.Done != 602 || job.Total != 602 || len(job.Result) != job.Parts || job.Parts < 2 {
		t.Fatalf("job: %d %s", r.status, r.body)
	}
	var all strings.Builder
	for n, part := range job.Result {
		r := call(t, h, "acme", "GET", part, "")
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" || r.header.Get("X-Export-Parts") != strconv.Itoa(job.Parts) {
			t.Fatalf("part %d: %d %v", n, r.status, r.header)
		}
		all.WriteString(r.body)
	}
	var g kogral.Subgraph
	if err := json.Unmarshal([]byte(all.String()), &g); err != nil || len(g.Nodes) != 600 || len(g.Edges) != 2 || all.Len() != job.Size {
		t.Fatalf("result: %d nodes, %d edges, %d bytes: %v", len(g.Nodes), len(g.Edges), all.Len(), err)
	}

	for _, c := range []struct {
		key, method, target, body string
		status                    int
		want                      string
	}{
		{"globex", "GET", "/exports/" + job.ID, "", 403, `which you cannot read`},
		{"globex", "GET", "/exports/" + job.ID + "/result", "", 403, "cannot read"},
		{"admin", "GET", "/exports/" + job.ID, "", 200, job.ID},
		{"acme", "GET", "/exports/exp-20261130-000000-aaaaaaaaaaaaaaaa", "", 404, "not found"},
		{"acme", "GET", "/exports/..%2Fnodes", "", 400, "malformed"},
		{"acme", "GET", "/exports/" + job.ID + "/result?part=99", "", 400, `99 is outside [0, `},
		{"globex", "POST", "/exports", `{"graph":"acme"}`, 404, `acme`},
		{"acme", "POST", "/exports", `{"graph":"acme","format":"pdf"}`, 400, `want json, dot, markdown or logseq`},
		{"acme", "POST", "/exports", `{"graph":"../x"}`, 400, "not a graph name"},
		{"acme", "POST", "/exports", `{"graphs":["acme"]}`, 400, "graphs"},
		// One import request is bounded too (it would outlast the function's timeout).
		{"acme", "POST", "/import", `{"nodes":[` + strings.Repeat(`{"id":"n","node_type":"note","title":"t","graph_id":"acme"},`, 1000) +
			`{"id":"n","node_type":"note","title":"t","graph_id":"acme"}],"edges":[]}`, 413, "at most 1000 nodes and 5000 edges per request"},
		// The synchronous export answers small graphs only.
		{"acme", "GET", "/export?graph=acme", "", 422, "POST /exports"},
		{"globex", "GET", "/export?graph=globex", "", 200, "globex.a"},
	} {
		if r := call(t, h, c.key, c.method, c.target, c.body); r.status != c.status || !strings.Contains(r.body, c.want) {
			t.Errorf("%s %s %s: %d %s, want %d with %q", c.key, c.method, c.target, r.status, r.body, c.status, c.want)
		}
	}
}

// An export of every graph is of the graphs its requester reads, and so is
// who may read the job: globex's export holds globex and the shared graph
// (which every caller reads), and nothing of acme's.
func TestExportEverythingIsWhatTheCallerReads(t *testing.T) {
	h, pub, consumer := exportAPI(t)
	var job apifn.ExportJob
	r := call(t, h, "globex", "POST", "/exports", `{"format":"dot"}`)
	if r.status != http.StatusAccepted || json.Unmarshal([]byte(r.body), &job) != nil {
		t.Fatalf("%d %s", r.status, r.body)
	}
	pub.deliver(t, consumer)
	if r = call(t, h, "globex", "GET", "/exports/"+job.ID, ""); json.Unmarshal([]byte(r.body), &job) != nil || job.Status != exportjob.StatusSucceeded {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = call(t, h, "globex", "GET", job.Result[0], "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/vnd.graphviz") || !strings.Contains(r.body, `"globex.a" -> "globex.b"`) ||
		strings.Contains(r.body, "acme") || !strings.Contains(r.body, `"shared.rule"`) || strings.Join(job.Graphs, ",") != "globex,shared" {
		t.Fatalf("%d %v %s %v", r.status, r.header, r.body, job.Graphs)
	}
	if r := call(t, h, "acme", "GET", "/exports/"+job.ID, ""); r.status != 403 {
		t.Fatalf("acme reads globex's job: %d %s", r.status, r.body)
	}
}

// A job whose runs all stopped without a word (crashed, or killed at their
// timeout) is failed when it is next read, rather than running until it
// expires; no delivery runs it after that.
func TestStalledJobFails(t *testing.T) {
	h, _, consumer, jobs := exportAPIWithJobs(t)
	id := exportjob.NewID(time.Now())
	if _, err := jobs.Create(context.Background(), id, exportjob.Request{Graph: "globex", Format: "json", Graphs: []string{"globex"},
		Readable: []string{"globex"}}, time.Now().Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	var job apifn.ExportJob
	r := call(t, h, "globex", "GET", "/exports/"+id, "")
	if r.status != 200 || json.Unmarshal([]byte(r.body), &job) != nil || job.Status != exportjob.StatusFailed || !strings.Contains(job.Error, "no news from kogral-export") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	data, _ := json.Marshal(events.ExportRequested{ID: id, JobID: id})
	if err := consumer(context.Background(), bus.Delivery{Subject: events.SubjectExportRequested, Data: data, Attempt: 1}); err != nil {
		t.Fatal(err)
	}
	if rec, err := jobs.Get(context.Background(), id); err != nil || rec.Status != exportjob.StatusFailed || rec.Attempt != 0 {
		t.Fatalf("a late delivery ran the job: %+v %v", rec, err)
	}
}
