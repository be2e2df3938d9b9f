package contract_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/cuecontract"
	"github.com/stratumiops/stratumiops/shared/provisioning"
	"github.com/stratumiops/stratumiops/shared/provisioning/contract"
)

const base = `{"id":"wf-1","name":"web","environment":"staging","defaults":{"provider":"aws","retry":{"max_attempts":3,"base_delay":"100ms"}},
 "tasks":[
  {"id":"net","kind":"network","spec":{"cidr":"10.0.0.0/16"}},
  {"id":"web","kind":"server","spec":{"cpu":4,"os":{"family":"ubuntu","version":"24.04"},
    "networking":{"public_ip":true,"security_groups":["sg-1"]},"storage":[{"name":"logs","size_gb":20,"type":"hdd","mount_point":"/var/log"}],
    "tags":{"team":"a"},"metadata":{"image_id":"ami-1"}},"depends_on":["net"],"timeout":"5m"},
  {"id":"data","kind":"storage","spec":{"size_gb":100,"attach_to":"web"},"depends_on":["web"]},
  {"id":"app","kind":"service","provider":"local","spec":{"port":8080},"depends_on":["data"]}]}`

// cases are documents with one field changed: the contract and the Go
// validation must agree on each, and the contract names the path.
var cases = []struct {
	name, from, to, path string // path "" for a valid document
}{
	{"valid", "", "", ""},
	{"minimal server spec", `"cpu":4,"os"`, `"os"`, ""},
	{"cpu zero", `"cpu":4`, `"cpu":0`, "tasks.1.spec.cpu"},
	{"cpu a string", `"cpu":4`, `"cpu":"4"`, "tasks.1.spec.cpu"},
	{"unknown os", `"family":"ubuntu"`, `"family":"windows"`, "tasks.1.spec.os.family"},
	{"unknown spec field", `"cpu":4`, `"cpus":4`, "tasks.1.spec.cpus"},
	{"volume type", `"type":"hdd"`, `"type":"tape"`, "tasks.1.spec.storage.0.type"},
	{"relative mount point", `"mount_point":"/var/log"`, `"mount_point":"var/log"`, "tasks.1.spec.storage.0.mount_point"},
	{"storage without size", `"size_gb":100,`, ``, "tasks.2.spec.size_gb"},
	{"unknown kind", `"kind":"service"`, `"kind":"lambda"`, "tasks.3.kind"},
	{"unknown provider", `"provider":"local"`, `"provider":"gcp"`, "tasks.3.provider"},
	{"kind its provider does not make", `"kind":"service","provider":"local"`, `"kind":"service","provider":"aws"`, "tasks.3.kind"},
	{"kind the default provider does not make", `"kind":"service","provider":"local",`, `"kind":"service",`, "tasks.3.kind"},
	{"kubernetes on no provider", `"kind":"storage","spec":{"size_gb":100,"attach_to":"web"}`, `"kind":"kubernetes","spec":{"version":"1.31"}`, "tasks.2.kind"},
	{"first task checked too", `"cidr":"10.0.0.0/16"}`, `"cidr":"10.0.0.0/16","ports":0}`, "tasks.0.spec.ports"},
	{"ingress rule", `"cidr":"10.0.0.0/16"}`, `"cidr":"10.0.0.0/16","ingress":[{"protocol":"tcp","from_port":22,"to_port":22,"cidr":"0.0.0.0/0"}]}`, ""},
	{"ingress protocol", `"cidr":"10.0.0.0/16"}`, `"cidr":"10.0.0.0/16","ingress":[{"protocol":"gre","cidr":"0.0.0.0/0"}]}`, "tasks.0.spec.ingress.0.protocol"},
	{"ingress port range", `"cidr":"10.0.0.0/16"}`, `"cidr":"10.0.0.0/16","ingress":[{"protocol":"tcp","from_port":443,"to_port":80,"cidr":"0.0.0.0/0"}]}`, "tasks.0.spec.ingress.0.to_port"},
	{"ingress port", `"cidr":"10.0.0.0/16"}`, `"cidr":"10.0.0.0/16","ingress":[{"protocol":"udp","from_port":53,"to_port":70000,"cidr":"0.0.0.0/0"}]}`, "tasks.0.spec.ingress.0.to_port"},
	{"egress rule", `"cidr":"10.0.0.0/16"}`, `"cidr":"10.0.0.0/16","egress":[{"protocol":"tcp","from_port":443,"to_port":443,"cidr":"0.0.0.0/0"}]}`, ""},
	{"egress cidr", `"cidr":"10.0.0.0/16"}`, `"cidr":"10.0.0.0/16","egress":[{"protocol":"all","cidr":"anywhere"}]}`, "tasks.0.spec.egress.0.cidr"},
	{"server rules", `"security_groups":["sg-1"]`, `"security_groups":["sg-1"],"ingress":[{"protocol":"tcp","from_port":443,"to_port":443,"cidr":"0.0.0.0/0"}],"egress":[{"protocol":"all","cidr":"10.0.0.0/8"}]`, ""},
	{"server ingress port range", `"security_groups":["sg-1"]`, `"security_groups":["sg-1"],"ingress":[{"protocol":"tcp","from_port":443,"to_port":80,"cidr":"0.0.0.0/0"}]`, "tasks.1.spec.networking.ingress.0.to_port"},
	{"server egress protocol", `"security_groups":["sg-1"]`, `"security_groups":["sg-1"],"egress":[{"protocol":"gre","cidr":"0.0.0.0/0"}]`, "tasks.1.spec.networking.egress.0.protocol"},
	{"bad task id", `"id":"app"`, `"id":"App!"`, "tasks.3.id"},
	{"bad environment", `"staging"`, `"prod"`, "environment"},
	{"bad duration", `"timeout":"5m"`, `"timeout":"five minutes"`, "tasks.1.timeout"},
	{"too many attempts", `"max_attempts":3`, `"max_attempts":11`, "defaults.retry.max_attempts"},
	{"port out of range", `"port":8080`, `"port":70000`, "tasks.3.spec.port"},
	// The API's decoder ignores unknown workflow-level fields (tasks and
	// specs are strict); the contract refuses them, a typo such as
	// max_paralel included. See apiIgnores.
	{"unknown top-level field", `"name":"web"`, `"name":"web","max_paralel":8`, "max_paralel"},
	{"no tasks", `"tasks":[`, `"tasks":[],"x":[`, "tasks"},
}

// apiIgnores are the cases the contract refuses and the API accepts.
var apiIgnores = map[string]bool{"unknown top-level field": true}

func TestContractAgreesWithValidation(t *testing.T) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := base
			if c.from != "" {
				if !strings.Contains(doc, c.from) {
					t.Fatalf("%q not in the document", c.from)
				}
				doc = strings.Replace(doc, c.from, c.to, 1)
			}
			cerr := contract.Check([]byte(doc))
			var w provisioning.Workflow
			gerr := json.Unmarshal([]byte(doc), &w)
			if gerr == nil {
				_, gerr = provisioning.Prepare(w)
			}
			if c.path == "" {
				if cerr != nil || gerr != nil {
					t.Fatalf("valid document refused: contract %v, validation %v", cerr, gerr)
				}
				return
			}
			var ce *cuecontract.Error
			if !errors.As(cerr, &ce) {
				t.Fatalf("contract: %v, want violations", cerr)
			}
			found := false
			for _, v := range ce.Violations {
				found = found || v.Path == c.path
			}
			if !found {
				t.Fatalf("contract violations %+v do not name %s", ce.Violations, c.path)
			}
			if gerr == nil && !apiIgnores[c.name] {
				t.Fatalf("the contract refuses it (%v) but the API's validation accepts it", cerr)
			}
		})
	}
}
