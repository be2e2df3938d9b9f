// Package provisioning is the Provisioning system's domain: workflows of
// infrastructure tasks (servers, networks, storage, services) validated
// against the seed's contracts, ordered topologically, planned with a cost
// estimate and run one checkpointed step at a time by the orchestrator's
// consumers over providers (aws, upcloud, local).
package provisioning

import (
	"encoding/json"
	"regexp"
	"time"
)

// Environments a workflow may target.
var Environments = []string{"development", "staging", "production"}

// Kinds of task.
const (
	KindServer     = "server"
	KindNetwork    = "network"
	KindStorage    = "storage"
	KindKubernetes = "kubernetes"
	KindService    = "service"
)

// Kinds lists every task kind.
var Kinds = []string{KindServer, KindNetwork, KindStorage, KindKubernetes, KindService}

// Limits on a workflow document.
const (
	MaxTasks          = 500
	MaxAttemptsLimit  = 10
	DefaultParallel   = 4
	MaxParallelLimit  = 64
	DefaultAttempts   = 3
	DefaultBaseDelay  = time.Second
	DefaultMaxDelay   = 5 * time.Minute
	DefaultTaskTimout = 10 * time.Minute
	MaxTaskTimeout    = 14 * time.Minute
)

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// WorkflowIDPattern is what a workflow id looks like.
var WorkflowIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// Workflow is a submitted workflow document.
type Workflow struct {
	// ID is optional on submit: one is generated when absent. Submitting the
	// same id again returns the stored workflow.
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	Environment string `json:"environment"`
	// Scope is the tenant the workflow belongs to: only holders of it read,
	// cancel or resume it (schemas/cedar/provisioning). Optional on submit:
	// the caller's first scope; the caller must hold it.
	Scope    string   `json:"scope,omitempty"`
	Defaults Defaults `json:"defaults,omitzero"`
	// MaxParallel bounds the tasks running at once (default 4).
	MaxParallel int    `json:"max_parallel,omitempty"`
	Tasks       []Task `json:"tasks"`
}

// Defaults apply to every task that does not set its own.
type Defaults struct {
	Provider string `json:"provider,omitempty"`
	Retry    *Retry `json:"retry,omitempty"`
	Timeout  string `json:"timeout,omitempty"`
}

// Task is one unit of infrastructure.
type Task struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	Provider  string          `json:"provider,omitempty"`
	Spec      json.RawMessage `json:"spec,omitempty"`
	DependsOn []string        `json:"depends_on,omitempty"`
	Retry     *Retry          `json:"retry,omitempty"`
	// Timeout of one attempt, a Go duration ("90s"; default 10m).
	Timeout string `json:"timeout,omitempty"`
}

// Retry says how often and how late a failed step is tried again: attempt n
// waits 2^n × base_delay plus up to 20 % jitter, at most max_delay.
type Retry struct {
	MaxAttempts int    `json:"max_attempts,omitempty"`
	BaseDelay   string `json:"base_delay,omitempty"`
	MaxDelay    string `json:"max_delay,omitempty"`
}

// RetryPolicy is a Retry with its durations parsed and defaults applied.
type RetryPolicy struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
}

// OS is a server's operating system.
type OS struct {
	Family  string `json:"family"`
	Version string `json:"version"`
}

// Networking is a server's network placement.
type Networking struct {
	VPC            string   `json:"vpc,omitempty"`
	Subnet         string   `json:"subnet,omitempty"`
	PublicIP       bool     `json:"public_ip"`
	SecurityGroups []string `json:"security_groups"`
	PrivateIP      string   `json:"private_ip,omitempty"`
	// Ingress and Egress are the server's own rules, beside the seed's
	// security_groups (groups that exist already, by id) and its network's;
	// on aws, one security group of the server's VPC holding them. Egress
	// rules replace the default that lets everything out.
	Ingress []Rule `json:"ingress,omitempty"`
	Egress  []Rule `json:"egress,omitempty"`
}

// Volume is a disk of a server.
type Volume struct {
	Name       string `json:"name"`
	SizeGB     int    `json:"size_gb"`
	Type       string `json:"type"`
	MountPoint string `json:"mount_point"`
}

// ServerSpec is the seed's server schema (schemas/server.ncl) with its defaults.
type ServerSpec struct {
	Name       string            `json:"name,omitempty"`
	CPU        int               `json:"cpu"`
	MemoryGB   int               `json:"memory_gb"`
	DiskGB     int               `json:"disk_gb"`
	OS         OS                `json:"os"`
	Networking Networking        `json:"networking"`
	Storage    []Volume          `json:"storage"`
	Tags       map[string]string `json:"tags"`
	Metadata   map[string]any    `json:"metadata"`
}

// NetworkSpec is a network: a CIDR block (a port range of Ports ports on
// the local provider).
type NetworkSpec struct {
	CIDR  string            `json:"cidr"`
	Ports int               `json:"ports"`
	Tags  map[string]string `json:"tags"`
	// Ingress is what the network lets in, Egress what it lets out (when
	// set, instead of everything); on aws, one security group of the VPC
	// holding these rules (security_group_id in the resource), given to
	// every aws server placed in the network.
	Ingress []Rule `json:"ingress"`
	Egress  []Rule `json:"egress,omitempty"`
}

// Rule lets traffic in or out: a protocol (tcp, udp, icmp or all), a port
// range (tcp and udp; for icmp, type and code) and the CIDR it comes from
// (ingress) or goes to (egress).
type Rule struct {
	Protocol string `json:"protocol"`
	FromPort int    `json:"from_port,omitempty"`
	ToPort   int    `json:"to_port,omitempty"`
	CIDR     string `json:"cidr"`
}

// StorageSpec is a volume of its own, optionally attached to a server task.
type StorageSpec struct {
	SizeGB     int               `json:"size_gb"`
	Type       string            `json:"type"`
	MountPoint string            `json:"mount_point,omitempty"`
	AttachTo   string            `json:"attach_to,omitempty"`
	Tags       map[string]string `json:"tags"`
}

// ServiceSpec is a service running on a server task.
type ServiceSpec struct {
	Name   string            `json:"name,omitempty"`
	Server string            `json:"server,omitempty"`
	Port   int               `json:"port,omitempty"`
	Tags   map[string]string `json:"tags"`
}

// KubernetesSpec is a cluster.
type KubernetesSpec struct {
	Version  string            `json:"version"`
	Nodes    int               `json:"nodes"`
	NodeSize string            `json:"node_size,omitempty"`
	Tags     map[string]string `json:"tags"`
}
