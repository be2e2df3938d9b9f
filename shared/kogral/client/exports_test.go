package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// exportServer is kogral-api's export job routes as a test speaks them: a
// job that runs for one look, then ends as end says, with two parts.
func exportServer(t *testing.T, id, end string) *httptest.Server {
	t.Helper()
	var looks atomic.Int32
	parts := []string{`{"nodes":[],`, `"edges":[]}`}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		job := map[string]any{"id": id, "status": "queued", "done": 0, "total": 4}
		switch {
		case r.Method == "POST" && r.URL.Path == "/exports":
			w.WriteHeader(http.StatusAccepted)
		case r.URL.Path == "/exports/"+id && looks.Add(1) == 1:
			job["status"], job["done"] = "running", 2
		case r.URL.Path == "/exports/"+id:
			job["status"], job["done"], job["parts"], job["size"], job["error"] = end, 4, 2, len(parts[0])+len(parts[1]), "boom"
		case r.URL.Path == "/exports/"+id+"/result":
			_, _ = w.Write([]byte(parts[map[string]int{"0": 0, "1": 1}[r.URL.Query().Get("part")]]))
			return
		default:
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(job)
	}))
}

func TestExportJobFollowsTheJob(t *testing.T) {
	srv := exportServer(t, "exp-20261130-080000-abcdefghijklmnop", "succeeded")
	defer srv.Close()
	var states []string
	c := NewClient(srv.URL, "", "")
	c.ExportProgress = func(s ExportStatus) { states = append(states, s.Status) }
	g, err := c.Export(context.Background(), "demo")
	if err != nil || g.Nodes == nil || strings.Join(states, ",") != "queued,running,succeeded" {
		t.Fatalf("%+v %v %v", g, err, states)
	}
}

func TestExportJobFailures(t *testing.T) {
	failed := exportServer(t, "exp-20261130-080000-abcdefghijklmnop", "failed")
	defer failed.Close()
	if _, err := NewClient(failed.URL, "", "").ExportJob(context.Background(), "", "json", nil); err == nil || !strings.Contains(err.Error(), "failed: boom") {
		t.Fatalf("a failed job: %v", err)
	}
	lying := exportServer(t, "../../nodes", "succeeded")
	defer lying.Close()
	if _, err := NewClient(lying.URL, "", "").ExportJob(context.Background(), "", "json", nil); !errors.As(err, new(*UntrustedError)) {
		t.Fatalf("a job id that is a path: %v", err)
	}
}
