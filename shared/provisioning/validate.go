package provisioning

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// InvalidError is a workflow the contracts refuse; it names the task and
// field concerned. Nothing is stored for it.
type InvalidError struct {
	Task  string // "" for a workflow-level field
	Field string
	Msg   string
}

func (e *InvalidError) Error() string {
	where := e.Field
	if e.Task != "" {
		where = fmt.Sprintf("task %q: %s", e.Task, e.Field)
	}
	return where + ": " + e.Msg
}

func invalid(task, field, format string, args ...any) error {
	return &InvalidError{Task: task, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Prepared is a valid workflow with every default applied, its specs
// normalized and its order computed.
type Prepared struct {
	Workflow
	Tasks []PreparedTask
	// Order is a topological order; Waves groups it into tasks that may run together.
	Order []string
	Waves [][]string
}

// PreparedTask is a task with its defaults applied.
type PreparedTask struct {
	ID        string
	Kind      string
	Provider  string
	Spec      json.RawMessage // normalized, every default present
	DependsOn []string
	Retry     RetryPolicy
	Timeout   time.Duration
}

// Task returns the prepared task named id.
func (p *Prepared) Task(id string) (PreparedTask, bool) {
	i := slices.IndexFunc(p.Tasks, func(t PreparedTask) bool { return t.ID == id })
	if i < 0 {
		return PreparedTask{}, false
	}
	return p.Tasks[i], true
}

// Prepare validates w against the contracts and applies its defaults. The
// error is an *InvalidError (or a *CycleError, which is one) naming the task
// and field.
func Prepare(w Workflow) (*Prepared, error) {
	if w.ID != "" && !WorkflowIDPattern.MatchString(w.ID) {
		return nil, invalid("", "id", "%q: want 1–128 letters, digits or _.- starting with a letter or digit", w.ID)
	}
	if strings.TrimSpace(w.Name) == "" || len(w.Name) > 128 {
		return nil, invalid("", "name", "required, at most 128 bytes")
	}
	if !slices.Contains(Environments, w.Environment) {
		return nil, invalid("", "environment", "%q: want one of %s", w.Environment, strings.Join(Environments, ", "))
	}
	if w.MaxParallel == 0 {
		w.MaxParallel = DefaultParallel
	}
	if w.MaxParallel < 1 || w.MaxParallel > MaxParallelLimit {
		return nil, invalid("", "max_parallel", "%d: want 1–%d", w.MaxParallel, MaxParallelLimit)
	}
	if len(w.Tasks) == 0 || len(w.Tasks) > MaxTasks {
		return nil, invalid("", "tasks", "want 1–%d tasks, got %d", MaxTasks, len(w.Tasks))
	}
	if w.Defaults.Provider != "" && !slices.Contains(ProviderNames, w.Defaults.Provider) {
		return nil, invalid("", "defaults.provider", "unknown provider %q (known: %s)", w.Defaults.Provider, strings.Join(ProviderNames, ", "))
	}
	p := &Prepared{Workflow: w}
	seen := map[string]bool{}
	for _, t := range w.Tasks {
		if !idPattern.MatchString(t.ID) {
			return nil, invalid(t.ID, "id", "want 1–63 lower-case letters, digits, _ or - starting with a letter or digit")
		}
		if seen[t.ID] {
			return nil, invalid(t.ID, "id", "listed twice")
		}
		seen[t.ID] = true
	}
	for _, t := range w.Tasks {
		pt, err := prepareTask(w, t, seen)
		if err != nil {
			return nil, err
		}
		p.Tasks = append(p.Tasks, pt)
	}
	if err := checkReferences(p); err != nil {
		return nil, err
	}
	order, waves, err := Waves(p.Tasks)
	if err != nil {
		return nil, err
	}
	p.Order, p.Waves = order, waves
	return p, nil
}

func prepareTask(w Workflow, t Task, known map[string]bool) (PreparedTask, error) {
	pt := PreparedTask{ID: t.ID, Kind: t.Kind, Provider: t.Provider, DependsOn: t.DependsOn}
	if !slices.Contains(Kinds, t.Kind) {
		return pt, invalid(t.ID, "kind", "unknown kind %q (known: %s)", t.Kind, strings.Join(Kinds, ", "))
	}
	if pt.Provider == "" {
		pt.Provider = w.Defaults.Provider
	}
	if pt.Provider == "" {
		return pt, invalid(t.ID, "provider", "required (or defaults.provider)")
	}
	if !slices.Contains(ProviderNames, pt.Provider) {
		return pt, invalid(t.ID, "provider", "unknown provider %q (known: %s)", pt.Provider, strings.Join(ProviderNames, ", "))
	}
	if !Supports(pt.Provider, t.Kind) {
		return pt, invalid(t.ID, "kind", "provider %s does not provision %s", pt.Provider, t.Kind)
	}
	for i, d := range t.DependsOn {
		if !known[d] {
			return pt, invalid(t.ID, fmt.Sprintf("depends_on[%d]", i), "no task %q in this workflow", d)
		}
		if d == t.ID {
			return pt, &CycleError{Cycle: []string{t.ID, t.ID}}
		}
		if slices.Index(t.DependsOn, d) != i {
			return pt, invalid(t.ID, fmt.Sprintf("depends_on[%d]", i), "%q listed twice", d)
		}
	}
	var err error
	if pt.Retry, err = retryPolicy(t.ID, t.Retry, w.Defaults.Retry); err != nil {
		return pt, err
	}
	timeout := t.Timeout
	if timeout == "" {
		timeout = w.Defaults.Timeout
	}
	if pt.Timeout, err = duration(t.ID, "timeout", timeout, DefaultTaskTimout); err != nil {
		return pt, err
	}
	if pt.Timeout <= 0 || pt.Timeout > MaxTaskTimeout {
		return pt, invalid(t.ID, "timeout", "%s: want more than 0 and at most %s (one attempt runs in one function call)", pt.Timeout, MaxTaskTimeout)
	}
	pt.Spec, err = normalizeSpec(t)
	return pt, err
}

func retryPolicy(task string, own, def *Retry) (RetryPolicy, error) {
	r := Retry{}
	for _, src := range []*Retry{def, own} {
		if src == nil {
			continue
		}
		if src.MaxAttempts != 0 {
			r.MaxAttempts = src.MaxAttempts
		}
		if src.BaseDelay != "" {
			r.BaseDelay = src.BaseDelay
		}
		if src.MaxDelay != "" {
			r.MaxDelay = src.MaxDelay
		}
	}
	p := RetryPolicy{MaxAttempts: r.MaxAttempts}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultAttempts
	}
	if p.MaxAttempts < 1 || p.MaxAttempts > MaxAttemptsLimit {
		return p, invalid(task, "retry.max_attempts", "%d: want 1–%d", p.MaxAttempts, MaxAttemptsLimit)
	}
	var err error
	if p.BaseDelay, err = duration(task, "retry.base_delay", r.BaseDelay, DefaultBaseDelay); err != nil {
		return p, err
	}
	if p.MaxDelay, err = duration(task, "retry.max_delay", r.MaxDelay, DefaultMaxDelay); err != nil {
		return p, err
	}
	if p.BaseDelay < 10*time.Millisecond || p.MaxDelay < p.BaseDelay || p.MaxDelay > time.Hour {
		return p, invalid(task, "retry", "want 10ms ≤ base_delay ≤ max_delay ≤ 1h, got %s and %s", p.BaseDelay, p.MaxDelay)
	}
	return p, nil
}

func duration(task, field, raw string, def time.Duration) (time.Duration, error) {
	if raw == "" {
		return def, nil
	}
	d, err := time.ParseDuration(raw)
	if err != nil {
		return 0, invalid(task, field, "%q is not a duration such as 2s or 5m", raw)
	}
	return d, nil
}

// normalizeSpec decodes a task's spec strictly over its kind's defaults,
// checks it and encodes it back with every default present.
func normalizeSpec(t Task) (json.RawMessage, error) {
	var spec interface{ check(task string) error }
	switch t.Kind {
	case KindServer:
		spec = &ServerSpec{CPU: 2, MemoryGB: 4, DiskGB: 50, Networking: Networking{SecurityGroups: []string{}},
			Storage: []Volume{}, Tags: map[string]string{}, Metadata: map[string]any{}}
	case KindNetwork:
		spec = &NetworkSpec{CIDR: "10.0.0.0/16", Ports: 10, Tags: map[string]string{}, Ingress: []Rule{}}
	case KindStorage:
		spec = &StorageSpec{Type: "ssd", Tags: map[string]string{}}
	case KindService:
		spec = &ServiceSpec{Tags: map[string]string{}}
	case KindKubernetes:
		spec = &KubernetesSpec{Nodes: 3, Tags: map[string]string{}}
	}
	if len(bytes.TrimSpace(t.Spec)) > 0 && !bytes.Equal(bytes.TrimSpace(t.Spec), []byte("null")) {
		dec := json.NewDecoder(bytes.NewReader(t.Spec))
		dec.DisallowUnknownFields()
		if err := dec.Decode(spec); err != nil {
			return nil, invalid(t.ID, "spec", "%s", specDecodeError(err))
		}
	}
	if err := spec.check(t.ID); err != nil {
		return nil, err
	}
	return json.Marshal(spec)
}

func specDecodeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %s: want %s, got %s", te.Field, te.Type, te.Value)
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

var osFamilies = []string{"ubuntu", "debian", "rocky"}
var volumeTypes = []string{"ssd", "hdd", "nvme"}

func (s *ServerSpec) check(task string) error {
	switch {
	case s.CPU < 1 || s.CPU > 448:
		return invalid(task, "spec.cpu", "%d: want 1–448", s.CPU)
	case s.MemoryGB < 1 || s.MemoryGB > 24576:
		return invalid(task, "spec.memory_gb", "%d: want 1–24576", s.MemoryGB)
	case s.DiskGB < 1 || s.DiskGB > 65536:
		return invalid(task, "spec.disk_gb", "%d: want 1–65536", s.DiskGB)
	case !slices.Contains(osFamilies, s.OS.Family):
		return invalid(task, "spec.os.family", "%q: want one of %s", s.OS.Family, strings.Join(osFamilies, ", "))
	case strings.TrimSpace(s.OS.Version) == "":
		return invalid(task, "spec.os.version", "required")
	}
	for i, v := range s.Storage {
		f := fmt.Sprintf("spec.storage[%d]", i)
		if v.Type == "" {
			s.Storage[i].Type, v.Type = "ssd", "ssd"
		}
		switch {
		case v.Name == "":
			return invalid(task, f+".name", "required")
		case v.SizeGB < 1:
			return invalid(task, f+".size_gb", "%d: want at least 1", v.SizeGB)
		case !slices.Contains(volumeTypes, v.Type):
			return invalid(task, f+".type", "%q: want one of %s", v.Type, strings.Join(volumeTypes, ", "))
		case !strings.HasPrefix(v.MountPoint, "/"):
			return invalid(task, f+".mount_point", "%q: want an absolute path", v.MountPoint)
		}
	}
	return checkRules(task, "spec.networking.", s.Networking.Ingress, s.Networking.Egress)
}

func (s *NetworkSpec) check(task string) error {
	if _, err := netip.ParsePrefix(s.CIDR); err != nil {
		return invalid(task, "spec.cidr", "%q is not a CIDR block", s.CIDR)
	}
	if s.Ports < 1 || s.Ports > 1000 {
		return invalid(task, "spec.ports", "%d: want 1–1000", s.Ports)
	}
	return checkRules(task, "spec.", s.Ingress, s.Egress)
}

// checkRules checks ingress and egress rules under the field prefix f.
func checkRules(task, f string, ingress, egress []Rule) error {
	for i, r := range ingress {
		if err := r.check(task, fmt.Sprintf("%singress[%d]", f, i)); err != nil {
			return err
		}
	}
	for i, r := range egress {
		if err := r.check(task, fmt.Sprintf("%segress[%d]", f, i)); err != nil {
			return err
		}
	}
	return nil
}

var protocols = []string{"tcp", "udp", "icmp", "all"}

func (r Rule) check(task, f string) error {
	switch {
	case !slices.Contains(protocols, r.Protocol):
		return invalid(task, f+".protocol", "%q: want one of %s", r.Protocol, strings.Join(protocols, ", "))
	case r.FromPort < 0 || r.FromPort > 65535:
		return invalid(task, f+".from_port", "%d: want 0–65535", r.FromPort)
	case r.ToPort < 0 || r.ToPort > 65535:
		return invalid(task, f+".to_port", "%d: want 0–65535", r.ToPort)
	case (r.Protocol == "tcp" || r.Protocol == "udp") && r.ToPort < r.FromPort:
		return invalid(task, f+".to_port", "%d: below from_port %d", r.ToPort, r.FromPort)
	}
	if p, err := netip.ParsePrefix(r.CIDR); err != nil || p.Masked() != p {
		return invalid(task, f+".cidr", "%q is not a CIDR block", r.CIDR)
	}
	return nil
}

func (s *StorageSpec) check(task string) error {
	switch {
	case s.SizeGB < 1 || s.SizeGB > 65536:
		return invalid(task, "spec.size_gb", "%d: want 1–65536", s.SizeGB)
	case !slices.Contains(volumeTypes, s.Type):
		return invalid(task, "spec.type", "%q: want one of %s", s.Type, strings.Join(volumeTypes, ", "))
	case s.MountPoint != "" && !strings.HasPrefix(s.MountPoint, "/"):
		return invalid(task, "spec.mount_point", "%q: want an absolute path", s.MountPoint)
	}
	return nil
}

func (s *ServiceSpec) check(task string) error {
	if s.Port < 0 || s.Port > 65535 {
		return invalid(task, "spec.port", "%d: want 0–65535", s.Port)
	}
	return nil
}

func (s *KubernetesSpec) check(task string) error {
	switch {
	case strings.TrimSpace(s.Version) == "":
		return invalid(task, "spec.version", "required")
	case s.Nodes < 1 || s.Nodes > 1000:
		return invalid(task, "spec.nodes", "%d: want 1–1000", s.Nodes)
	}
	return nil
}

// checkReferences checks that a spec naming another task (attach_to,
// server) names one it depends on.
func checkReferences(p *Prepared) error {
	for _, t := range p.Tasks {
		var ref, field string
		switch t.Kind {
		case KindStorage:
			var s StorageSpec
			_ = json.Unmarshal(t.Spec, &s)
			ref, field = s.AttachTo, "spec.attach_to"
		case KindService:
			var s ServiceSpec
			_ = json.Unmarshal(t.Spec, &s)
			ref, field = s.Server, "spec.server"
		}
		if ref == "" {
			continue
		}
		if !slices.Contains(t.DependsOn, ref) {
			return invalid(t.ID, field, "%q must also be in depends_on", ref)
		}
		if other, _ := p.Task(ref); other.Kind != KindServer {
			return invalid(t.ID, field, "%q is a %s, not a server", ref, other.Kind)
		}
	}
	return nil
}
