package local_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stratumiops/stratumiops/shared/provisioning"
	"github.com/stratumiops/stratumiops/shared/provisioning/local"
)

// The test binary is also the local server's binary: run with
// LOCAL_SERVE=1 it serves like `stratum prov local-server`.
func TestMain(m *testing.M) {
	if os.Getenv("LOCAL_SERVE") == "1" {
		fs := flag.NewFlagSet("serve", flag.ExitOnError)
		dir := fs.String("dir", "", "")
		port := fs.Int("port", 0, "")
		_ = fs.Parse(os.Args[1:])
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		defer stop()
		if err := local.Serve(ctx, *dir, *port); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func newProvider(t *testing.T) *local.Provider {
	t.Helper()
	p, err := local.New(local.Config{Dir: t.TempDir(), PortLow: 22000, PortHigh: 22999, MaxStorageGB: 2,
		ServerCommand: []string{os.Args[0]}, ServerEnv: []string{"LOCAL_SERVE=1"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func task(t *testing.T, id, kind, spec string, deps ...string) provisioning.PreparedTask {
	t.Helper()
	w := provisioning.Workflow{Name: "x", Environment: "development", Defaults: provisioning.Defaults{Provider: "local"}}
	w.Tasks = []provisioning.Task{{ID: "net", Kind: "network", Spec: json.RawMessage(`{"ports":5}`)},
		{ID: "srv", Kind: "server", Spec: json.RawMessage(`{"os":{"family":"rocky","version":"9"}}`), DependsOn: []string{"net"}}}
	if id != "net" && id != "srv" {
		w.Tasks = append(w.Tasks, provisioning.Task{ID: id, Kind: kind, Spec: json.RawMessage(spec), DependsOn: deps})
	}
	p, err := provisioning.Prepare(w)
	if err != nil {
		t.Fatal(err)
	}
	pt, _ := p.Task(id)
	return pt
}

func TestLocalResourcesAreRealAndIdempotent(t *testing.T) {
	p, ctx := newProvider(t), context.Background()
	net, err := p.Create(ctx, "wf/net", task(t, "net", "", ""), nil)
	if err != nil {
		t.Fatal(err)
	}
	if net.Attrs["ports"] != "22000-22004" {
		t.Fatalf("network %+v", net)
	}
	deps := map[string]provisioning.Resource{"net": net}
	srv, err := p.Create(ctx, "wf/srv", task(t, "srv", "", ""), deps)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(srv.Attrs["port"])
	if port < 22000 || port > 22004 {
		t.Fatalf("server port %d outside its network", port)
	}
	if _, err := os.Stat(filepath.Join(srv.Attrs["data_dir"], "started")); err != nil {
		t.Fatalf("server did not start in its data dir: %v", err)
	}
	again, err := p.Create(ctx, "wf/srv", task(t, "srv", "", ""), deps)
	if err != nil || again.Attrs["pid"] != srv.Attrs["pid"] {
		t.Fatalf("second create made another process: %+v %v", again, err)
	}
	deps["srv"] = srv
	vol, err := p.Create(ctx, "wf/vol", task(t, "vol", "storage", `{"size_gb":1,"attach_to":"srv"}`, "srv"), deps)
	if err != nil {
		t.Fatal(err)
	}
	if target, err := os.Readlink(filepath.Join(srv.Attrs["data_dir"], "volume-wf_vol")); err != nil || target != vol.Attrs["path"] {
		t.Fatalf("volume not attached: %q %v", target, err)
	}
	if _, err := p.Create(ctx, "wf/big", task(t, "big", "storage", `{"size_gb":3}`), nil); err == nil ||
		!strings.Contains(err.Error(), "over the local quota of 2 GB") {
		t.Fatalf("oversized storage: %v", err)
	}
	for _, r := range []provisioning.Resource{vol, srv, net} {
		if err := p.Delete(ctx, r); err != nil {
			t.Fatal(err)
		}
		if ok, _ := p.Read(ctx, r); ok {
			t.Fatalf("%s still there after delete", r.ID)
		}
		if _, err := os.Stat(r.Attrs["path"]); !os.IsNotExist(err) {
			t.Fatalf("%s: directory left: %v", r.ID, err)
		}
	}
	pid, _ := strconv.Atoi(srv.Attrs["pid"])
	if syscall.Kill(pid, 0) == nil {
		t.Fatalf("process %d still runs", pid)
	}
	if err := p.Delete(ctx, srv); err != nil {
		t.Fatalf("deleting twice: %v", err)
	}
	if again, err := p.Create(ctx, "wf/net2", task(t, "net", "", ""), nil); err != nil || again.Attrs["ports"] != "22000-22004" {
		t.Fatalf("ports not released: %+v %v", again, err)
	}
}
