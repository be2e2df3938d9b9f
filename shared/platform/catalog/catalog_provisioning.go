package catalog

import "time"

// Provisioning: infrastructure workflows over the aws, upcloud and local
// providers. The orchestrator is one consumer that advances a workflow one
// checkpointed step per message.
func init() {
	Systems = append(Systems, System{Name: "provisioning", DevPort: 8404})
	Streams = append(Streams, Stream{Name: "PROVISIONING", Subjects: []string{"provisioning.>"}, MaxAge: 7 * 24 * time.Hour})
	Functions = append(Functions,
		Function{
			Name:        "provisioning-workflows",
			System:      "provisioning",
			Kind:        HTTP,
			Description: "Provisioning workflows: submit (or plan with ?dry_run=true), read, list, cancel, resume.",
			Routes: []Route{
				{"GET", "/openapi.json"},
				{"POST", "/workflows"}, {"GET", "/workflows"}, {"GET", "/workflows/{id}"},
				{"POST", "/workflows/{id}/cancel"}, {"POST", "/workflows/{id}/resume"},
			},
			Database: "provisioning",
			Bus:      true,
			Auth:     true,
			MemoryMB: 256,
			Timeout:  10 * time.Second,
		},
		Function{
			Name:        "provisioning-orchestrator",
			System:      "provisioning",
			Kind:        Consumer,
			Description: "Runs workflows: schedules ready tasks in topological order, runs each attempt as a checkpointed step, retries with backoff, rolls back in reverse order.",
			Subjects: []string{"provisioning.workflows.submitted", "provisioning.workflows.cancelled",
				"provisioning.workflows.resumed", "provisioning.workflows.rollback",
				"provisioning.tasks.ready", "provisioning.tasks.done"},
			// Each attempt of a task is a delivery (retries are delayed
			// redeliveries), up to 10 attempts, plus redeliveries after crashes.
			MaxDeliver: 25,
			Database:   "provisioning",
			Bus:        true,
			Env:        provisioningEnv,
			MemoryMB:   256,
			Timeout:    15 * time.Minute, // one attempt of a task may take its whole timeout (at most 14m)
			AckWait:    10 * time.Second, // a step of a crashed instance runs again 10s later
		},
	)
}

// provisioningEnv configures the providers. The local provider works under
// PROV_LOCAL_DIR (its processes run PROV_LOCAL_SERVER_CMD, default
// `<this binary> prov local-server`); aws and upcloud read their endpoints
// ("" for the real APIs), region and zone here and their credentials from
// SecretumVault's KV v2 (VAULT_ADDR, and VAULT_ROLE_ID/VAULT_SECRET_ID for
// an AppRole login or VAULT_TOKEN; deployed: VAULT_AUTH_SECRET_ARN), at
// PROV_VAULT_MOUNT/PROV_VAULT_PATH/<provider>); see provfn/providers.go.
// PROV_UPCLOUD_TOKEN is read only without a vault: the devstack sets it for
// its local UpCloud; deployed stacks leave it empty.
var provisioningEnv = map[string]string{"PROV_LOCAL_DIR": "", "PROV_LOCAL_PORTS": "20000-29999",
	"PROV_LOCAL_MAX_STORAGE_GB": "10", "PROV_LOCAL_SERVER_CMD": "", "VAULT_ADDR": "", "VAULT_TOKEN": "", "VAULT_ROLE_ID": "", "VAULT_SECRET_ID": "",
	"PROV_AWS_ENDPOINT": "", "PROV_AWS_REGION": "", "PROV_UPCLOUD_ENDPOINT": "", "PROV_UPCLOUD_ZONE": "fi-hel1",
	"PROV_UPCLOUD_TOKEN": "", "PROV_VAULT_MOUNT": "secret", "PROV_VAULT_PATH": "provisioning/providers", "PROV_POLL": ""}
