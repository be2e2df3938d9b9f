package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// provCall sends a request to the Provisioning gateway with the dev key and
// decodes the answer into out (when not nil); it returns the status and body.
func provCall(t *testing.T, method, path, body string, out any) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), method, ep.Gateways["provisioning"]+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-API-Key", devstack.DevAPIKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var raw json.RawMessage
	_ = json.NewDecoder(res.Body).Decode(&raw)
	if out != nil && res.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return res.StatusCode, string(raw)
}

// fiveTasks is network → two servers → storage → service on the local provider.
func fiveTasks(id string, storageGB, attempts int, base string) string {
	return fmt.Sprintf(`{"id":%q,"name":"five","environment":"development",
  "defaults":{"provider":"local","retry":{"max_attempts":%d,"base_delay":%q,"max_delay":"2s"}},
  "tasks":[
    {"id":"net","kind":"network","spec":{"ports":5}},
    {"id":"web","kind":"server","spec":{"os":{"family":"ubuntu","version":"24.04"}},"depends_on":["net"]},
    {"id":"db","kind":"server","spec":{"os":{"family":"debian","version":"12"}},"depends_on":["net"]},
    {"id":"data","kind":"storage","spec":{"size_gb":%d,"attach_to":"db"},"depends_on":["db"]},
    {"id":"app","kind":"service","spec":{"server":"web"},"depends_on":["web","data"]}]}`, id, attempts, base, storageGB)
}

func waitWorkflow(t *testing.T, id string, until func(w provisioning.WorkflowState) bool) provisioning.WorkflowState {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var w provisioning.WorkflowState
		code, body := provCall(t, "GET", "/workflows/"+id, "", &w)
		if code == 200 && until(w) {
			return w
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow %s: condition never met: %d %.2000s", id, code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// localStorageQuotaGB is the local provider's storage quota in the devstacks
// this suite starts (PROV_LOCAL_MAX_STORAGE_GB).
const localStorageQuotaGB = 1

// taskOutcomes lists each task's state, attempt and last error, for a failure
// message.
func taskOutcomes(w provisioning.WorkflowState) string {
	var b strings.Builder
	for _, task := range w.Tasks {
		fmt.Fprintf(&b, "  %s: %s, attempt %d", task.Task, task.State, task.Attempt)
		if task.Error != nil {
			fmt.Fprintf(&b, ": %s", *task.Error)
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func ended(w provisioning.WorkflowState) bool {
	return w.Status == provisioning.StatusSucceeded || w.Status == provisioning.StatusRolledBack || w.Status == provisioning.StatusRollbackFailed
}

func checkTopological(t *testing.T, w provisioning.WorkflowState) {
	t.Helper()
	for _, task := range w.Tasks {
		for _, d := range task.DependsOn {
			dep := w.Task(d)
			if task.StartedAt == nil || dep.FinishedAt == nil || task.StartedAt.Before(*dep.FinishedAt) {
				t.Fatalf("%s started at %v, before %s finished at %v", task.Task, task.StartedAt, d, dep.FinishedAt)
			}
		}
	}
}

func alive(pid string) bool {
	n, _ := strconv.Atoi(pid)
	return n > 0 && syscall.Kill(n, 0) == nil
}

// stopProcesses ends what a succeeded workflow left running (its servers
// outlive the devstack, as servers do).
func stopProcesses(t *testing.T, w provisioning.WorkflowState) {
	t.Cleanup(func() {
		for _, task := range w.Tasks {
			if task.Resource != nil && task.Resource.Attrs["pid"] != "" {
				n, _ := strconv.Atoi(task.Resource.Attrs["pid"])
				_ = syscall.Kill(-n, syscall.SIGKILL)
			}
		}
	})
}

func TestProvisioning(t *testing.T) {
	if ep.Gateways["provisioning"] == "" {
		t.Skip("no provisioning gateway")
	}
	stamp := time.Now().UnixNano()

	t.Run("plan and bad input", func(t *testing.T) {
		var plan provisioning.SubmitResponse
		if code, body := provCall(t, "POST", "/workflows?dry_run=true", fiveTasks(fmt.Sprintf("plan-%d", stamp), 1, 3, "100ms"), &plan); code != 200 ||
			plan.Plan == nil || fmt.Sprint(plan.Plan.Waves) != "[[net] [web db] [data] [app]]" {
			t.Fatalf("plan: %d %s", code, body)
		}
		cyclic := strings.Replace(fiveTasks(fmt.Sprintf("cyc-%d", stamp), 1, 3, "100ms"), `"spec":{"ports":5}`, `"spec":{"ports":5},"depends_on":["app"]`, 1)
		if code, body := provCall(t, "POST", "/workflows", cyclic, nil); code != 400 || !strings.Contains(body, "net → app → web → net") {
			t.Fatalf("cycle: %d %s", code, body)
		}
	})

	t.Run("runs in topological order, idempotent submit", func(t *testing.T) {
		id := fmt.Sprintf("ok-%d", stamp)
		doc := fiveTasks(id, 1, 3, "100ms")
		if code, body := provCall(t, "POST", "/workflows", doc, nil); code != 201 {
			t.Fatalf("submit: %d %s", code, body)
		}
		if code, body := provCall(t, "POST", "/workflows", doc, nil); code != 200 {
			t.Fatalf("submit again: %d %s", code, body)
		}
		w := waitWorkflow(t, id, ended)
		stopProcesses(t, w)
		if w.Status != provisioning.StatusSucceeded {
			t.Fatalf("status %s: %v", w.Status, w.Error)
		}
		checkTopological(t, w)
		for _, task := range []string{"web", "db", "app"} {
			r := w.Task(task).Resource
			res, err := http.Get(r.Attrs["url"] + "/health")
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("%s does not answer at %s: %v", task, r.Attrs["url"], err)
			}
			res.Body.Close()
		}
	})

	t.Run("CLI: plan, then submit a YAML workflow and follow it", func(t *testing.T) {
		if dev == nil {
			t.Skip("needs the stratum binary this suite built")
		}
		id := fmt.Sprintf("cli-%d", stamp)
		file := filepath.Join(t.TempDir(), "workflow.yaml")
		yamlDoc := "id: " + id + `
name: cli
environment: staging
defaults: {provider: local}
tasks:
  - {id: net, kind: network, spec: {ports: 3}}
  - {id: vm, kind: server, spec: {cpu: 1, os: {family: rocky, version: "9"}}, depends_on: [net]}
`
		if err := os.WriteFile(file, []byte(yamlDoc), 0o644); err != nil {
			t.Fatal(err)
		}
		cli := func(args ...string) (string, error) {
			cmd := exec.Command(dev.bin, append([]string{"prov", "--url", ep.Gateways["provisioning"], "--api-key", devstack.DevAPIKey}, args...)...)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		out, err := cli("plan", file)
		if err != nil || !strings.Contains(out, "order: net → vm") || !strings.Contains(out, "estimated cost: 0.00 USD/month") {
			t.Fatalf("plan: %v\n%s", err, out)
		}
		out, err = cli("workflow", "submit", file, "--wait")
		var w provisioning.WorkflowState
		provCall(t, "GET", "/workflows/"+id, "", &w)
		stopProcesses(t, w)
		if err != nil || !strings.Contains(out, "vm           server   Succeeded (attempt 1/3)") || !strings.Contains(out, "workflow "+id+": Succeeded") {
			t.Fatalf("submit --wait: %v\n%s", err, out)
		}
		if out, err := cli("workflow", "status", id); err != nil || !strings.Contains(out, "Succeeded") {
			t.Fatalf("status: %v\n%s", err, out)
		}
	})

	t.Run("a failing task rolls back in reverse", func(t *testing.T) {
		id := fmt.Sprintf("fail-%d", stamp)
		if code, body := provCall(t, "POST", "/workflows", fiveTasks(id, 500, 3, "100ms"), nil); code != 201 {
			t.Fatalf("submit: %d %s", code, body)
		}
		w := waitWorkflow(t, id, ended)
		if w.Status != provisioning.StatusRolledBack || w.Task("data").State != provisioning.TaskFailed || w.Task("data").Attempt != 3 {
			t.Fatalf("status %s, data %+v", w.Status, w.Task("data"))
		}
		var tries []provisioning.Step
		var deleted []string
		for _, s := range w.Steps {
			if s.Task == "data" && s.Action == "create" {
				tries = append(tries, s)
			}
			if s.Action == "delete" {
				deleted = append(deleted, s.Task)
				if s.Resource.Attrs["pid"] != "" && alive(s.Resource.Attrs["pid"]) {
					t.Fatalf("%s's process %s still runs", s.Task, s.Resource.Attrs["pid"])
				}
				if _, err := os.Stat(s.Resource.Attrs["path"]); !os.IsNotExist(err) {
					t.Fatalf("%s's directory %s is still there", s.Task, s.Resource.Attrs["path"])
				}
			}
		}
		if fmt.Sprint(deleted) != "[db web net]" {
			t.Fatalf("rolled back %v, want [db web net]", deleted)
		}
		for n := 1; n < len(tries); n++ { // attempt n+1 waits at least 2^n × 100ms
			if gap, want := tries[n].StartedAt.Sub(*tries[n-1].FinishedAt), time.Duration(1<<n)*100*time.Millisecond; gap < want-5*time.Millisecond {
				t.Fatalf("attempt %d began %s after attempt %d failed; want ≥ %s", n+1, gap, n, want)
			}
		}
	})

	t.Run("killed mid-workflow, it resumes without duplicates", func(t *testing.T) {
		if !own || dev == nil {
			t.Skip("needs the devstack this suite started")
		}
		id := fmt.Sprintf("crash-%d", stamp)
		// data is over the devstack's storage quota until the restart raises it.
		if code, body := provCall(t, "POST", "/workflows", fiveTasks(id, localStorageQuotaGB+1, 10, "300ms"), nil); code != 201 {
			t.Fatalf("submit: %d %s", code, body)
		}
		// The kill comes once net, web and db are made and data is retrying.
		before := waitWorkflow(t, id, func(w provisioning.WorkflowState) bool {
			return w.Task("data").Attempt >= 2 && w.Task("net").State == "Succeeded" &&
				w.Task("web").State == "Succeeded" && w.Task("db").State == "Succeeded"
		})
		stopProcesses(t, before)
		dev.killGroup()
		<-dev.exited
		dev.extraEnv = []string{"PROV_LOCAL_MAX_STORAGE_GB=" + strconv.Itoa(localStorageQuotaGB+1)}
		defer func() { dev.extraEnv = nil }()
		if err := dev.start(); err != nil {
			t.Fatal(err)
		}
		w := waitWorkflow(t, id, ended)
		stopProcesses(t, w)
		if w.Status != provisioning.StatusSucceeded {
			t.Fatalf("after restart: %s\n%s", w.Status, taskOutcomes(w))
		}
		checkTopological(t, w)
		for _, task := range []string{"net", "web", "db"} {
			was, now := before.Task(task).Resource, w.Task(task).Resource
			// An attempt that failed before the kill (a slow start on a busy
			// machine) is fine; one after the restart is a duplicate.
			if now.ID != was.ID || now.Attrs["pid"] != was.Attrs["pid"] || w.Task(task).Attempt != before.Task(task).Attempt {
				t.Fatalf("%s made again: before %+v, after %+v", task, was, now)
			}
		}
		creates := map[string]int{}
		for _, s := range w.Steps {
			if s.Action == "create" && s.State == "succeeded" {
				creates[s.Task]++
			}
		}
		for task, n := range creates {
			if n != 1 {
				t.Fatalf("%s created %d times", task, n)
			}
		}
	})
}
