package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	bao "github.com/openbao/openbao/api/v2"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	localec2 "github.com/stratumiops/stratumiops/localstack/ec2"
	localupcloud "github.com/stratumiops/stratumiops/localstack/upcloud"
	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// cloudTasks is network → two servers → storage attached to db, on provider.
func cloudTasks(id, provider, storage string) string {
	return fmt.Sprintf(`{"id":%q,"name":"clouds","environment":"staging",
  "defaults":{"provider":%q,"retry":{"max_attempts":3,"base_delay":"100ms","max_delay":"1s"}},
  "tasks":[
    {"id":"net","kind":"network","spec":{"cidr":"10.40.0.0/24"}},
    {"id":"web","kind":"server","spec":{"os":{"family":"ubuntu","version":"24.04"},"networking":{"public_ip":true,"security_groups":[]}},"depends_on":["net"]},
    {"id":"db","kind":"server","spec":{"cpu":4,"memory_gb":8,"os":{"family":"debian","version":"12"}},"depends_on":["net"]},
    {"id":"data","kind":"storage","spec":%s,"depends_on":["db"]}]}`, id, provider, storage)
}

// getJSON reads a local cloud's inspection endpoint.
func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
}

func postJSON(t *testing.T, url, body string) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("%s: %v %v", url, res, err)
	}
	res.Body.Close()
}

// deletes lists the tasks of w's delete steps, in order.
func deletes(w provisioning.WorkflowState) []string {
	var out []string
	for _, s := range w.Steps {
		if s.Action == "delete" {
			out = append(out, s.Task)
		}
	}
	return out
}

func TestProvisioningEC2(t *testing.T) {
	base := ep.ProvisioningEC2
	if base == "" || ep.Gateways["provisioning"] == "" {
		t.Skip("no local EC2 (a real PROV_AWS_ENDPOINT, or not a devstack)")
	}
	stamp := time.Now().UnixNano()
	var before []localec2.Call
	getJSON(t, base+"/_stratum/calls", &before)

	// One capacity error: retried, and still one instance per server.
	postJSON(t, base+"/_stratum/fail", `{"action":"RunInstances","codes":["InsufficientInstanceCapacity"]}`)
	id := fmt.Sprintf("ec2-%d", stamp)
	if code, body := provCall(t, "POST", "/workflows", cloudTasks(id, "aws", `{"size_gb":100,"attach_to":"db"}`), nil); code != 201 {
		t.Fatalf("submit: %d %s", code, body)
	}
	w := waitWorkflow(t, id, ended)
	if w.Status != provisioning.StatusSucceeded {
		t.Fatalf("status %s: %v", w.Status, w.Error)
	}
	checkTopological(t, w)
	if w.Task("web").Attempt+w.Task("db").Attempt != 3 {
		t.Fatalf("attempts web %d db %d, want one retry between them", w.Task("web").Attempt, w.Task("db").Attempt)
	}
	var calls []localec2.Call
	getJSON(t, base+"/_stratum/calls", &calls)
	calls = calls[len(before):]
	index := func(action, param, value string) int {
		return slices.IndexFunc(calls, func(c localec2.Call) bool {
			return c.Action == action && c.Error == "" && (param == "" || c.Params.Get(param) == value)
		})
	}
	vpc, subnet, db := w.Task("net").Resource.ID, w.Task("net").Resource.Attrs["subnet_id"], w.Task("db").Resource.ID
	runs := 0
	for _, c := range calls {
		if c.Action == "RunInstances" && c.Error == "" {
			runs++
			if c.Params.Get("SubnetId")+c.Params.Get("NetworkInterface.1.SubnetId") != subnet {
				t.Fatalf("RunInstances outside the workflow's subnet %s: %v", subnet, c.Params)
			}
		}
	}
	if runs != 2 || index("CreateSubnet", "VpcId", vpc) > index("RunInstances", "", "") ||
		index("AttachVolume", "InstanceId", db) < index("CreateVolume", "", "") || index("AttachVolume", "InstanceId", db) < 0 {
		t.Fatalf("calls out of order (%d RunInstances succeeded, want one per server): %+v", runs, calls)
	}
	if w.Task("db").Resource.Attrs["instance_type"] != "m6i.xlarge" || w.Task("data").Resource.Attrs["instance_id"] != db {
		t.Fatalf("resources: db %+v data %+v", w.Task("db").Resource, w.Task("data").Resource)
	}

	// EC2 refuses a 10 GiB st1 volume for good: no retry, rollback in reverse.
	id = fmt.Sprintf("ec2-bad-%d", stamp)
	if code, body := provCall(t, "POST", "/workflows", cloudTasks(id, "aws", `{"size_gb":10,"type":"hdd","attach_to":"db"}`), nil); code != 201 {
		t.Fatalf("submit: %d %s", code, body)
	}
	w = waitWorkflow(t, id, ended)
	if w.Status != provisioning.StatusRolledBack || w.Task("data").Attempt != 1 || !strings.Contains(strOf(w.Error), "InvalidParameterValue") {
		t.Fatalf("status %s (%s), data attempt %d", w.Status, strOf(w.Error), w.Task("data").Attempt)
	}
	if got := deletes(w); fmt.Sprint(got) != "[db web net]" {
		t.Fatalf("rolled back %v, want [db web net]", got)
	}
	var st localec2.State
	getJSON(t, base+"/_stratum/state", &st)
	for _, task := range []string{"web", "db"} {
		if s := w.Steps[slices.IndexFunc(w.Steps, func(s provisioning.Step) bool { return s.Task == task && s.Action == "delete" })]; st.Instances[s.Resource.ID] != "terminated" {
			t.Fatalf("%s's instance %s is %q", task, s.Resource.ID, st.Instances[s.Resource.ID])
		}
	}
	if _, ok := st.VPCs[w.Steps[slices.IndexFunc(w.Steps, func(s provisioning.Step) bool { return s.Task == "net" && s.Action == "delete" })].Resource.ID]; ok {
		t.Fatal("the rolled back VPC is still there")
	}
}

func TestProvisioningUpCloud(t *testing.T) {
	base := ep.ProvisioningUpCloud
	if base == "" || ep.Gateways["provisioning"] == "" {
		t.Skip("no local UpCloud")
	}
	stamp := time.Now().UnixNano()
	var before []localupcloud.Call
	getJSON(t, base+"/_stratum/calls", &before)
	postJSON(t, base+"/_stratum/fail", `{"route":"POST /1.3/server","codes":["SERVER_RESOURCES_UNAVAILABLE"]}`)
	id := fmt.Sprintf("up-%d", stamp)
	if code, body := provCall(t, "POST", "/workflows", cloudTasks(id, "upcloud", `{"size_gb":100,"attach_to":"db"}`), nil); code != 201 {
		t.Fatalf("submit: %d %s", code, body)
	}
	w := waitWorkflow(t, id, ended)
	if w.Status != provisioning.StatusSucceeded {
		t.Fatalf("status %s: %v", w.Status, w.Error)
	}
	checkTopological(t, w)
	if w.Task("web").Attempt+w.Task("db").Attempt != 3 || w.Task("db").Resource.Attrs["plan"] != "4xCPU-8GB" {
		t.Fatalf("web %+v db %+v", w.Task("web"), w.Task("db"))
	}
	var calls []localupcloud.Call
	getJSON(t, base+"/_stratum/calls", &calls)
	calls = calls[len(before):]
	created := 0
	for _, c := range calls {
		if c.Method == "POST" && c.Path == "/1.3/server" && c.Error == "" {
			created++
			if !strings.Contains(c.Body, `"network":"`+w.Task("net").Resource.ID+`"`) {
				t.Fatalf("server outside the workflow's network: %s", c.Body)
			}
		}
	}
	attach := slices.IndexFunc(calls, func(c localupcloud.Call) bool {
		return c.Path == "/1.3/server/"+w.Task("db").Resource.ID+"/storage/attach" && c.Error == ""
	})
	if created != 2 || attach < 0 || w.Task("data").Resource.Attrs["address"] == "" {
		t.Fatalf("%d servers created, attach at %d: %+v", created, attach, calls)
	}

	id = fmt.Sprintf("up-bad-%d", stamp)
	if code, body := provCall(t, "POST", "/workflows", cloudTasks(id, "upcloud", `{"size_gb":5000,"attach_to":"db"}`), nil); code != 201 {
		t.Fatalf("submit: %d %s", code, body)
	}
	w = waitWorkflow(t, id, ended)
	if w.Status != provisioning.StatusRolledBack || w.Task("data").Attempt != 1 || !strings.Contains(strOf(w.Error), "SIZE_INVALID") {
		t.Fatalf("status %s (%s), data attempt %d", w.Status, strOf(w.Error), w.Task("data").Attempt)
	}
	if got := deletes(w); fmt.Sprint(got) != "[db web net]" {
		t.Fatalf("rolled back %v, want [db web net]", got)
	}
	var st localupcloud.State
	getJSON(t, base+"/_stratum/state", &st)
	for _, s := range w.Steps {
		if s.Action != "delete" {
			continue
		}
		if _, ok := st.Servers[s.Resource.ID]; ok || slices.Contains(st.Networks, s.Resource.ID) {
			t.Fatalf("%s's %s is still there", s.Task, s.Resource.ID)
		}
	}
}

func strOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// The cloud providers read their credentials from the suite's vault (KV v2,
// with a token whose policy reads only them), never from the workflow: a
// second devstack runs the orchestrator with VAULT_ADDR and that token. A
// missing secret fails the step at once; once written, the next workflow
// signs its EC2 calls with the vault's access key and calls UpCloud with the
// vault's token; no secret reaches the logs or the workflow.
func TestProvisioningVaultCredentials(t *testing.T) {
	if dev == nil {
		t.Skip("starts a second devstack: only when the suite runs its own")
	}
	root := unsealedRoot(t)
	ctx := context.Background()
	if err := root.Sys().MountWithContext(ctx, "provcreds", &bao.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil &&
		!strings.Contains(err.Error(), "already in use") {
		t.Fatal(err)
	}
	mustWrite(t, root.Logical(), "sys/policies/acl/prov-providers",
		map[string]any{"policy": `path "provcreds/data/provisioning/providers/*" { capabilities = ["read"] }`})
	tok, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"prov-providers"}})
	if err != nil {
		t.Fatal(err)
	}
	const accessKey, secretKey = "AKIAVAULTPROVIDED01", "vault-secret-key-never-logged"
	mustWrite(t, root.Logical(), "provcreds/data/provisioning/providers/aws",
		map[string]any{"data": map[string]any{"access_key_id": accessKey, "secret_access_key": secretKey}})

	d2 := &devstackProc{bin: dev.bin, dir: t.TempDir(), extraEnv: []string{"VAULT_ADDR=" + ep.Gateways["vault"],
		"VAULT_TOKEN=" + tok.Auth.ClientToken, "PROV_VAULT_MOUNT=provcreds"}}
	ep2, err := d2.launch()
	if err != nil {
		t.Fatalf("second devstack: %v", err)
	}
	t.Cleanup(func() {
		if err := d2.stop(); err != nil {
			t.Error(err)
		}
	})
	call := func(method, path, body string, out any) (int, string) {
		req, _ := http.NewRequest(method, ep2.Gateways["provisioning"]+path, strings.NewReader(body))
		req.Header.Set("X-API-Key", devstack.DevAPIKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if out != nil {
			_ = json.Unmarshal(raw, out)
		}
		return res.StatusCode, string(raw)
	}
	run := func(id, provider string) provisioning.WorkflowState {
		t.Helper()
		if code, body := call("POST", "/workflows", cloudTasks(id, provider, `{"size_gb":100,"attach_to":"db"}`), nil); code != 201 {
			t.Fatalf("submit: %d %s", code, body)
		}
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			var w provisioning.WorkflowState
			if code, _ := call("GET", "/workflows/"+id, "", &w); code == 200 && ended(w) {
				return w
			}
		}
		t.Fatalf("workflow %s did not end", id)
		return provisioning.WorkflowState{}
	}
	stamp := time.Now().UnixNano()
	if w := run(fmt.Sprintf("vault-up-%d", stamp), "upcloud"); w.Status != provisioning.StatusRolledBack ||
		w.Task("net").Attempt != 1 || !strings.Contains(strOf(w.Error), "HTTP 404") {
		t.Fatalf("without an upcloud secret: %s %q, net attempt %d", w.Status, strOf(w.Error), w.Task("net").Attempt)
	}
	mustWrite(t, root.Logical(), "provcreds/data/provisioning/providers/upcloud",
		map[string]any{"data": map[string]any{"token": devstack.DevUpCloudToken}})
	if w := run(fmt.Sprintf("vault-up2-%d", stamp), "upcloud"); w.Status != provisioning.StatusSucceeded {
		t.Fatalf("with the vault's upcloud token: %s %q", w.Status, strOf(w.Error))
	}
	// The local EC2 verifies signatures: it learns the vault's key as AWS would know it.
	postJSON(t, ep2.ProvisioningEC2+"/_stratum/keys", fmt.Sprintf(`{"access_key_id":%q,"secret_access_key":%q}`, accessKey, secretKey))
	if w := run(fmt.Sprintf("vault-ec2-%d", stamp), "aws"); w.Status != provisioning.StatusSucceeded {
		t.Fatalf("with the vault's aws keys: %s %q", w.Status, strOf(w.Error))
	}
	var calls []localec2.Call
	getJSON(t, ep2.ProvisioningEC2+"/_stratum/calls", &calls)
	if len(calls) == 0 || slices.ContainsFunc(calls, func(c localec2.Call) bool { return c.AccessKey != accessKey }) {
		t.Fatalf("EC2 calls not all signed with the vault's key: %+v", calls)
	}
	logs, _ := os.ReadFile(d2.logFile())
	for _, secret := range []string{secretKey, devstack.DevUpCloudToken, tok.Auth.ClientToken} {
		if strings.Contains(string(logs), secret) {
			t.Fatalf("a secret (%.6s…) reached the devstack's log", secret)
		}
	}
}
