package catalog

import "time"

// pipelineConcurrency is how many deliveries each consumer on a pipeline's
// hand-over path (result → next stage → assignment) handles at once. Each
// delivery spends most of its time waiting on database and bus round trips,
// and deliveries of different tasks do not wait on each other (a pipeline's
// transitions are versioned writes, an agent's are under its lock), so more
// than the default 8 shortens the queue when many stages finish at once.
const pipelineConcurrency = 16

// Vapora's swarm, pipeline and knowledge functions (issue 21), kept apart from
// catalog.go, which has grown.
func init() { Functions = append(Functions, vaporaPipelineFunctions...) }

var vaporaPipelineFunctions = []Function{
	{
		Name:        "vapora-swarm",
		System:      "vapora",
		Kind:        HTTP,
		Description: "Vapora swarm: assign tasks to the best agents without overloading any, status per role, agents with their work, load balancing.",
		Routes: []Route{
			{"POST", "/swarm/assign"}, {"GET", "/swarm/status"}, {"GET", "/swarm/agents"}, {"POST", "/swarm/balance"},
		},
		Database: "vapora",
		Bus:      true,
		Auth:     true,
		MemoryMB: 256,
		Timeout:  10 * time.Second,
	},
	{
		Name:        "vapora-pipelines",
		System:      "vapora",
		Kind:        HTTP,
		Description: "Vapora pipelines: stages handed between agent roles, approval gates decided under Cedar, cancel, rollback in reverse.",
		Routes: []Route{
			{"POST", "/pipelines"}, {"GET", "/pipelines"}, {"GET", "/pipelines/{id}"},
			{"POST", "/pipelines/{id}/approve"}, {"POST", "/pipelines/{id}/cancel"},
		},
		Database: "vapora",
		Bus:      true,
		Auth:     true,
		MemoryMB: 256,
		Timeout:  10 * time.Second,
	},
	{
		Name:        "vapora-pipeline-on-result",
		System:      "vapora",
		Kind:        Consumer,
		Description: "Advances pipelines on their stage tasks' results, once per result: next stage, approval gate, or rollback.",
		Subjects:    []string{"vapora.tasks.results"},
		MaxDeliver:  5,
		Database:    "vapora",
		Bus:         true,
		MemoryMB:    256,
		Timeout:     10 * time.Second,
		Concurrency: pipelineConcurrency,
	},
	{
		Name:        "vapora-pipeline-sweep",
		System:      "vapora",
		Kind:        Invoke,
		Description: "Publishes pipeline events left in the outbox, fails approval gates whose timeout passed (rolling the pipeline back) and assigns stage tasks that found no free agent.",
		Schedule:    "rate(1 minute)",
		Database:    "vapora",
		Bus:         true,
		MemoryMB:    256,
		Timeout:     60 * time.Second,
	},
	{
		Name:        "vapora-knowledge",
		System:      "vapora",
		Kind:        HTTP,
		Description: "Vapora knowledge: Kogral search in the caller's scope's graph, similar past tasks, agents' learning curves.",
		Routes: []Route{
			{"POST", "/knowledge/query"}, {"GET", "/knowledge/similar/{task_id}"}, {"GET", "/knowledge/learning/{agent_id}"},
		},
		Database: "vapora",
		Bus:      true, // the store's locks live in JetStream
		Auth:     true,
		// Kogral's API and a service credential for it, with scope
		// kogral-reader (in AWS, from the kogral-client secret; the devstack
		// gives its gateway and a dev key).
		Calls:    []string{"kogral"},
		MemoryMB: 256,
		Timeout:  10 * time.Second,
	},
}
