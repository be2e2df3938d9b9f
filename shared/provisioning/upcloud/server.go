package upcloud

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// plans are UpCloud's general purpose plans, smallest first: cores, GB.
var plans = []struct {
	name     string
	cpu, mem int
}{{"1xCPU-1GB", 1, 1}, {"1xCPU-2GB", 1, 2}, {"2xCPU-4GB", 2, 4}, {"4xCPU-8GB", 4, 8}, {"6xCPU-16GB", 6, 16},
	{"8xCPU-32GB", 8, 32}, {"12xCPU-48GB", 12, 48}, {"16xCPU-64GB", 16, 64}, {"20xCPU-96GB", 20, 96}, {"20xCPU-128GB", 20, 128}}

// Plan is the smallest general purpose plan with cpu cores and mem GB.
func Plan(cpu, mem int) (string, bool) {
	for _, p := range plans {
		if p.cpu >= cpu && p.mem >= mem {
			return p.name, true
		}
	}
	return "", false
}

// Tier is UpCloud's storage tier for a spec's volume type.
func Tier(t string) string {
	if t == "hdd" {
		return "hdd"
	}
	return "maxiops"
}

// createServer clones the OS template into a new server, unless the key's
// label finds one made by an earlier run of the step, and waits until it
// is started.
func (p *Provider) createServer(ctx context.Context, key string, t provisioning.PreparedTask, deps map[string]provisioning.Resource) (provisioning.Resource, error) {
	var s provisioning.ServerSpec
	_ = json.Unmarshal(t.Spec, &s)
	uuid, err := p.findServer(ctx, key)
	if err != nil {
		return provisioning.Resource{}, err
	}
	if uuid == "" {
		if uuid, err = p.postServer(ctx, key, t, s, deps); err != nil {
			return provisioning.Resource{}, err
		}
	}
	var sv Server
	err = p.wait(ctx, "server "+uuid, func() (string, error) {
		var err error
		sv, err = p.server(ctx, uuid)
		return sv.State, err
	}, "started")
	if err != nil {
		return provisioning.Resource{}, err
	}
	attrs := map[string]string{"uuid": uuid, "zone": sv.Zone, "plan": sv.Plan, "hostname": sv.Hostname}
	if sv.IPAddresses != nil {
		for _, ip := range sv.IPAddresses.IPAddress {
			if ip.Family == "IPv4" && ip.Address != "" {
				attrs[ip.Access+"_ip"] = ip.Address
			}
		}
	}
	return resource(uuid, provisioning.KindServer, attrs), nil
}

func (p *Provider) postServer(ctx context.Context, key string, t provisioning.PreparedTask, s provisioning.ServerSpec, deps map[string]provisioning.Resource) (string, error) {
	plan, _ := s.Metadata["plan"].(string)
	if plan == "" {
		var ok bool
		if plan, ok = Plan(s.CPU, s.MemoryGB); !ok {
			return "", provisioning.Permanent(fmt.Errorf("no upcloud plan has %d cores and %d GB", s.CPU, s.MemoryGB))
		}
	}
	template, err := p.template(ctx, s)
	if err != nil {
		return "", err
	}
	name := s.Name
	if name == "" {
		name = t.ID
	}
	sv := Server{Zone: p.zone, Title: name, Hostname: name, Plan: plan, Metadata: "yes", Labels: withKey(key, s.Tags)}
	sv.StorageDevices.StorageDevice = append(sv.StorageDevices.StorageDevice,
		storageDevice{Action: "clone", Storage: template, Title: name + "-os", Size: s.DiskGB, Tier: "maxiops"})
	for _, v := range s.Storage {
		sv.StorageDevices.StorageDevice = append(sv.StorageDevices.StorageDevice,
			storageDevice{Action: "create", Title: name + "-" + v.Name, Size: v.SizeGB, Tier: Tier(v.Type)})
	}
	sv.Networking = &struct {
		Interfaces struct {
			Interface []iface `json:"interface"`
		} `json:"interfaces"`
	}{}
	ifs := &sv.Networking.Interfaces.Interface
	for _, d := range t.DependsOn {
		if r, ok := deps[d]; ok && r.Kind == provisioning.KindNetwork {
			*ifs = append(*ifs, iface{Type: "private", Network: r.ID, IPAddresses: ipAddresses{[]ipAddress{{Family: "IPv4"}}}})
		}
	}
	if s.Networking.PublicIP || len(*ifs) == 0 {
		*ifs = append(*ifs, iface{Type: "public", IPAddresses: ipAddresses{[]ipAddress{{Family: "IPv4"}}}})
	}
	var out struct {
		Server Server `json:"server"`
	}
	if err := p.c.Do(ctx, "POST", "/1.3/server", map[string]any{"server": sv}, &out); err != nil {
		return "", err
	}
	return out.Server.UUID, nil
}

// template is the spec's metadata.template (a UUID), or the public template
// whose title names the OS family and version ("Ubuntu Server 24.04 LTS…").
func (p *Provider) template(ctx context.Context, s provisioning.ServerSpec) (string, error) {
	if id, _ := s.Metadata["template"].(string); id != "" {
		return id, nil
	}
	var out struct {
		Storages struct {
			Storage []Storage `json:"storage"`
		} `json:"storages"`
	}
	if err := p.c.Do(ctx, "GET", "/1.3/storage/template", nil, &out); err != nil {
		return "", err
	}
	for _, st := range out.Storages.Storage {
		title := strings.ToLower(st.Title)
		if strings.Contains(title, s.OS.Family) && strings.Contains(title, " "+strings.ToLower(s.OS.Version)) {
			return st.UUID, nil
		}
	}
	return "", provisioning.Permanent(fmt.Errorf("no upcloud template for %s %s (set spec.metadata.template)", s.OS.Family, s.OS.Version))
}

func (p *Provider) findServer(ctx context.Context, key string) (string, error) {
	var out struct {
		Servers struct {
			Server []Server `json:"server"`
		} `json:"servers"`
	}
	q := url.Values{"label": {KeyLabel + "=" + keyValue(key)}}
	if err := p.c.Do(ctx, "GET", "/1.3/server?"+q.Encode(), nil, &out); err != nil {
		return "", err
	}
	for _, sv := range out.Servers.Server {
		if hasKey(sv.Labels, key) {
			return sv.UUID, nil
		}
	}
	return "", nil
}

func (p *Provider) server(ctx context.Context, uuid string) (Server, error) {
	var out struct {
		Server Server `json:"server"`
	}
	err := p.c.Do(ctx, "GET", "/1.3/server/"+url.PathEscape(uuid), nil, &out)
	return out.Server, err
}

// deleteServer stops the server, waits until it is stopped and deletes it
// with its storages.
func (p *Provider) deleteServer(ctx context.Context, uuid string) error {
	sv, err := p.server(ctx, uuid)
	if err != nil {
		return err
	}
	if sv.State != "stopped" {
		stop := map[string]any{"stop_server": map[string]string{"stop_type": "soft", "timeout": "60"}}
		err := p.retry(ctx, func() error { return p.c.Do(ctx, "POST", "/1.3/server/"+url.PathEscape(uuid)+"/stop", stop, nil) })
		if err != nil {
			return err
		}
	}
	err = p.wait(ctx, "server "+uuid, func() (string, error) { sv, err := p.server(ctx, uuid); return sv.State, err }, "stopped")
	if err != nil {
		return err
	}
	return p.retry(ctx, func() error {
		return p.c.Do(ctx, "DELETE", "/1.3/server/"+url.PathEscape(uuid)+"?storages=1", nil, nil)
	})
}
