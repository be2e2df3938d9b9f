package upcloud_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	localup "github.com/stratumiops/stratumiops/localstack/upcloud"
	"github.com/stratumiops/stratumiops/shared/provisioning"
	"github.com/stratumiops/stratumiops/shared/provisioning/upcloud"
)

func setup(t *testing.T, creds upcloud.Credentials) (*upcloud.Provider, *localup.Server) {
	t.Helper()
	srv := localup.New("stratum-api", "pw", "ucat_local")
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	c := &upcloud.Client{Endpoint: hs.URL, Credentials: upcloud.Static(creds)}
	return upcloud.New(c, "de-fra1", time.Millisecond), srv
}

func tasks(t *testing.T, storage string) map[string]provisioning.PreparedTask {
	t.Helper()
	w := provisioning.Workflow{Name: "x", Environment: "staging", Defaults: provisioning.Defaults{Provider: "upcloud"}, Tasks: []provisioning.Task{
		{ID: "net", Kind: "network", Spec: json.RawMessage(`{"cidr":"10.30.0.0/24"}`)},
		{ID: "web", Kind: "server", Spec: json.RawMessage(`{"os":{"family":"debian","version":"12"},"networking":{"public_ip":true,"security_groups":[]}}`), DependsOn: []string{"net"}},
		{ID: "data", Kind: "storage", Spec: json.RawMessage(storage), DependsOn: []string{"web"}}}}
	p, err := provisioning.Prepare(w)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]provisioning.PreparedTask{}
	for _, pt := range p.Tasks {
		out[pt.ID] = pt
	}
	return out
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestLifecycle(t *testing.T) {
	p, srv := setup(t, upcloud.Credentials{Username: "stratum-api", Password: "pw"})
	ts := tasks(t, `{"size_gb":20,"type":"hdd","attach_to":"web"}`)
	deps := map[string]provisioning.Resource{}
	for _, id := range []string{"net", "web", "data"} {
		r, err := p.Create(ctx(t), "wf/"+id+"/1", ts[id], deps)
		if err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
		deps[id] = r
	}
	if deps["web"].Attrs["plan"] != "2xCPU-4GB" || deps["web"].Attrs["private_ip"] != "10.30.0.2" || deps["web"].Attrs["public_ip"] == "" ||
		deps["data"].Attrs["server"] != deps["web"].ID || deps["data"].Attrs["address"] != "virtio:1" {
		t.Fatalf("resources: %+v", deps)
	}
	post := srv.Calls()[slices.Index(srv.Routes(), "POST /1.3/server")]
	if !strings.Contains(post.Body, `"storage":"01000000-0000-4000-8000-000020070100"`) || !strings.Contains(post.Body, `"network":"`+deps["net"].ID) {
		t.Fatalf("POST /1.3/server: %s", post.Body)
	}
	for _, id := range []string{"net", "web", "data"} {
		if ok, err := p.Read(ctx(t), deps[id]); !ok || err != nil {
			t.Fatalf("read %s: %v %v", id, ok, err)
		}
	}
	for _, id := range []string{"data", "web", "net"} {
		if err := p.Delete(ctx(t), deps[id]); err != nil {
			t.Fatalf("delete %s: %v", id, err)
		}
		if err := p.Delete(ctx(t), deps[id]); err != nil {
			t.Fatalf("delete %s again: %v", id, err)
		}
		if ok, err := p.Read(ctx(t), deps[id]); ok || err != nil {
			t.Fatalf("read %s after delete: %v %v", id, ok, err)
		}
	}
	if st := srv.State(); len(st.Servers) != 0 || len(st.Storages) != 0 || len(st.Networks) != 0 {
		t.Fatalf("left: %+v", st)
	}
	want := []string{"GET /1.3/network", "POST /1.3/network",
		"GET /1.3/server", "GET /1.3/storage/template", "POST /1.3/server", "GET /1.3/server/{uuid}", "GET /1.3/server/{uuid}",
		"GET /1.3/storage/normal", "POST /1.3/storage", "GET /1.3/storage/{uuid}", "GET /1.3/storage/{uuid}", "GET /1.3/server/{uuid}", "POST /1.3/server/{uuid}/storage/attach",
		"GET /1.3/network/{uuid}", "GET /1.3/server/{uuid}", "GET /1.3/storage/{uuid}",
		"POST /1.3/server/{uuid}/storage/detach", "DELETE /1.3/storage/{uuid}",
		"POST /1.3/server/{uuid}/storage/detach", "DELETE /1.3/storage/{uuid}", "GET /1.3/storage/{uuid}",
		"GET /1.3/server/{uuid}", "POST /1.3/server/{uuid}/stop", "GET /1.3/server/{uuid}", "GET /1.3/server/{uuid}", "DELETE /1.3/server/{uuid}"}
	if got := generic(srv.Routes(), deps); !slices.Equal(got[:len(want)], want) {
		t.Fatalf("calls:\n got %v\nwant %v", got, want)
	}
}

// generic replaces resource ids in routes with {uuid}.
func generic(routes []string, deps map[string]provisioning.Resource) []string {
	out := slices.Clone(routes)
	for i := range out {
		for _, r := range deps {
			out[i] = strings.ReplaceAll(out[i], r.ID, "{uuid}")
		}
	}
	return out
}

func TestIdempotentByKeyAndBearer(t *testing.T) {
	p, srv := setup(t, upcloud.Credentials{Token: "ucat_local"})
	ts := tasks(t, `{"size_gb":20}`)
	for _, id := range []string{"net", "data"} {
		a, err := p.Create(ctx(t), "wf/"+id+"/1", ts[id], nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.Create(ctx(t), "wf/"+id+"/1", ts[id], nil)
		if err != nil || b.ID != a.ID {
			t.Fatalf("%s again: %v %v, want %s", id, b.ID, err, a.ID)
		}
	}
	a, err := p.Create(ctx(t), "wf/web/1", ts["web"], nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := p.Create(ctx(t), "wf/web/1", ts["web"], nil); err != nil || b.ID != a.ID {
		t.Fatalf("server again: %v %v", b.ID, err)
	}
	if st := srv.State(); len(st.Servers) != 1 || len(st.Storages) != 2 || len(st.Networks) != 1 { // the server's OS disk and data
		t.Fatalf("state: %+v", st)
	}
}

func TestErrorsRetriedOrNot(t *testing.T) {
	p, srv := setup(t, upcloud.Credentials{Username: "stratum-api", Password: "pw"})
	ts := tasks(t, `{"size_gb":20}`)
	for _, code := range []string{"SERVER_RESOURCES_UNAVAILABLE", "TOO_MANY_REQUESTS", "INTERNAL_ERROR"} {
		srv.Fail("POST /1.3/server", code)
		if _, err := p.Create(ctx(t), "wf/web/1", ts["web"], nil); err == nil || provisioning.IsPermanent(err) || !strings.Contains(err.Error(), code) {
			t.Fatalf("%s: %v, want a transient error", code, err)
		}
	}
	srv.Fail("POST /1.3/server", "PLAN_INVALID")
	if _, err := p.Create(ctx(t), "wf/web/1", ts["web"], nil); !provisioning.IsPermanent(err) {
		t.Fatalf("PLAN_INVALID: %v, want permanent", err)
	}
	big := tasks(t, `{"size_gb":5000}`)["data"]
	if _, err := p.Create(ctx(t), "wf/data/1", big, nil); !provisioning.IsPermanent(err) || !strings.Contains(err.Error(), "SIZE_INVALID") {
		t.Fatalf("5000 GB: %v", err)
	}
	bad, _ := setup(t, upcloud.Credentials{Username: "stratum-api", Password: "wrong"})
	if _, err := bad.Create(ctx(t), "wf/net/1", ts["net"], nil); !provisioning.IsPermanent(err) || !strings.Contains(err.Error(), "AUTHENTICATION_FAILED") {
		t.Fatalf("bad password: %v", err)
	}
	if st := srv.State(); len(st.Servers) != 0 {
		t.Fatalf("state: %+v", st)
	}
}

func TestErrorDocument(t *testing.T) {
	srv := localup.New("u", "p", "")
	hs := httptest.NewServer(srv)
	defer hs.Close()
	req, _ := http.NewRequest("GET", hs.URL+"/1.3/server/00000000-0000-4000-8000-000000000000", nil)
	req.SetBasicAuth("u", "p")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]map[string]string
	_ = json.NewDecoder(res.Body).Decode(&v)
	if res.StatusCode != 404 || v["error"]["error_code"] != "SERVER_NOT_FOUND" || v["error"]["error_message"] == "" {
		t.Fatalf("%d %v", res.StatusCode, v)
	}
}
