package upcloud

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
)

type label struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type labels struct {
	Label []label `json:"label"`
}

type ipAddress struct {
	Access  string `json:"access,omitempty"`
	Address string `json:"address,omitempty"`
	Family  string `json:"family"`
}

type ipAddresses struct {
	IPAddress []ipAddress `json:"ip_address"`
}

type iface struct {
	Type        string      `json:"type"`
	Network     string      `json:"network,omitempty"`
	IPAddresses ipAddresses `json:"ip_addresses"`
}

type device struct {
	Action  string `json:"action,omitempty"`
	Storage string `json:"storage,omitempty"`
	Title   string `json:"title,omitempty"`
	Size    int    `json:"size,omitempty"`
	Tier    string `json:"tier,omitempty"`
	Address string `json:"address,omitempty"`
	Type    string `json:"type,omitempty"`
	// answered only
	StorageSize  int    `json:"storage_size,omitempty"`
	StorageTitle string `json:"storage_title,omitempty"`
}

type serverDoc struct {
	UUID           string  `json:"uuid,omitempty"`
	State          string  `json:"state,omitempty"`
	Zone           string  `json:"zone"`
	Title          string  `json:"title"`
	Hostname       string  `json:"hostname"`
	Plan           string  `json:"plan"`
	Metadata       string  `json:"metadata,omitempty"`
	Labels         *labels `json:"labels,omitempty"`
	StorageDevices struct {
		StorageDevice []device `json:"storage_device"`
	} `json:"storage_devices"`
	Networking *struct {
		Interfaces struct {
			Interface []iface `json:"interface"`
		} `json:"interfaces"`
	} `json:"networking,omitempty"`
	IPAddresses *ipAddresses `json:"ip_addresses,omitempty"`
	LoginUser   any          `json:"login_user,omitempty"`
}

type server struct {
	doc   serverDoc
	reads int
}

type storageDoc struct {
	UUID   string  `json:"uuid,omitempty"`
	State  string  `json:"state,omitempty"`
	Title  string  `json:"title"`
	Size   int     `json:"size"`
	Tier   string  `json:"tier,omitempty"`
	Zone   string  `json:"zone"`
	Type   string  `json:"type,omitempty"`
	Access string  `json:"access,omitempty"`
	Labels *labels `json:"labels,omitempty"`
	Server string  `json:"-"`
}

type storage struct{ doc storageDoc }

type networkDoc struct {
	UUID       string `json:"uuid,omitempty"`
	Name       string `json:"name"`
	Zone       string `json:"zone"`
	Type       string `json:"type,omitempty"`
	IPNetworks struct {
		IPNetwork []struct {
			Address string `json:"address"`
			DHCP    string `json:"dhcp"`
			Family  string `json:"family"`
		} `json:"ip_network"`
	} `json:"ip_networks"`
	Labels *labels `json:"labels,omitempty"`
}

type network struct{ doc networkDoc }

// Zones and Plans this account may use.
var (
	Zones = []string{"fi-hel1", "fi-hel2", "de-fra1", "nl-ams1", "uk-lon1", "us-nyc1", "sg-sin1"}
	Plans = []string{"1xCPU-1GB", "1xCPU-2GB", "2xCPU-4GB", "4xCPU-8GB", "6xCPU-16GB", "8xCPU-32GB", "12xCPU-48GB",
		"16xCPU-64GB", "20xCPU-96GB", "20xCPU-128GB"}
)

var templates = []storageDoc{
	{UUID: "01000000-0000-4000-8000-000030240200", Title: "Ubuntu Server 24.04 LTS (Noble Numbat)", Size: 4, Type: "template", Access: "public", State: "online", Zone: "fi-hel1"},
	{UUID: "01000000-0000-4000-8000-000030220200", Title: "Ubuntu Server 22.04 LTS (Jammy Jellyfish)", Size: 4, Type: "template", Access: "public", State: "online", Zone: "fi-hel1"},
	{UUID: "01000000-0000-4000-8000-000020070100", Title: "Debian GNU/Linux 12 (Bookworm)", Size: 4, Type: "template", Access: "public", State: "online", Zone: "fi-hel1"},
	{UUID: "01000000-0000-4000-8000-000150020100", Title: "Rocky Linux 9", Size: 4, Type: "template", Access: "public", State: "online", Zone: "fi-hel1"},
}

func one(key string, v any) map[string]any { return map[string]any{key: v} }

func many(outer, inner string, v any) map[string]any {
	return map[string]any{outer: map[string]any{inner: v}}
}

func hasLabel(l *labels, filter string) bool {
	k, v, _ := strings.Cut(filter, "=")
	return l != nil && slices.ContainsFunc(l.Label, func(x label) bool { return x.Key == k && (v == "" || x.Value == v) })
}

func checkLabels(l *labels) *apiError {
	if l == nil {
		return nil
	}
	for _, x := range l.Label {
		if x.Key == "" || len(x.Key) > 32 || len(x.Value) > 255 {
			return fail(400, "LABEL_INVALID", "Label key %q must be 1-32 characters and its value at most 255.", x.Key)
		}
	}
	return nil
}

func (s *Server) listServers(r *http.Request) (int, any, *apiError) {
	list := []serverDoc{}
	for _, id := range sortedKeys(s.servers) {
		sv := s.servers[id]
		if f := r.URL.Query()["label"]; len(f) > 0 && !slices.ContainsFunc(f, func(x string) bool { return hasLabel(sv.doc.Labels, x) }) {
			continue
		}
		list = append(list, sv.doc)
	}
	return 200, many("servers", "server", list), nil
}

func (s *Server) createServer(r *http.Request) (int, any, *apiError) {
	var d serverDoc
	if e := decode(r, "server", &d); e != nil {
		return 0, nil, e
	}
	switch {
	case !slices.Contains(Zones, d.Zone):
		return 0, nil, fail(400, "ZONE_INVALID", "The zone %q is invalid.", d.Zone)
	case !slices.Contains(Plans, d.Plan):
		return 0, nil, fail(400, "PLAN_INVALID", "The plan %q is invalid.", d.Plan)
	case d.Title == "" || len(d.Title) > 255:
		return 0, nil, fail(400, "TITLE_INVALID", "The title is invalid.")
	case d.Hostname == "" || len(d.Hostname) > 128 || strings.ContainsAny(d.Hostname, " _/"):
		return 0, nil, fail(400, "HOSTNAME_INVALID", "The hostname %q is invalid.", d.Hostname)
	case len(d.StorageDevices.StorageDevice) == 0:
		return 0, nil, fail(400, "STORAGE_DEVICES_MISSING", "The server must have at least one storage device.")
	}
	if e := checkLabels(d.Labels); e != nil {
		return 0, nil, e
	}
	d.UUID, d.State = newUUID(0x00), "maintenance"
	devs, e := s.storagesOf(d)
	if e != nil {
		return 0, nil, e
	}
	d.StorageDevices.StorageDevice = devs
	ips, e := s.interfaces(d)
	if e != nil {
		return 0, nil, e
	}
	d.IPAddresses = &ipAddresses{ips}
	s.servers[d.UUID] = &server{doc: d}
	return 202, one("server", d), nil
}

// storagesOf makes the server's storages: clones of a template or new ones.
func (s *Server) storagesOf(d serverDoc) ([]device, *apiError) {
	var out []device
	for i, dev := range d.StorageDevices.StorageDevice {
		if dev.Size < 1 || dev.Size > 4096 || (dev.Action == "clone" && dev.Size < 10) {
			return nil, fail(400, "SIZE_INVALID", "The size %d of storage device %d is invalid.", dev.Size, i+1)
		}
		if dev.Tier != "" && dev.Tier != "maxiops" && dev.Tier != "hdd" && dev.Tier != "standard" {
			return nil, fail(400, "TIER_INVALID", "The tier %q is invalid.", dev.Tier)
		}
		switch dev.Action {
		case "clone":
			if t := s.storages[dev.Storage]; t == nil || t.doc.Type != "template" {
				return nil, fail(400, "STORAGE_INVALID", "The storage %q is not a template.", dev.Storage)
			}
		case "create":
		default:
			return nil, fail(400, "ACTION_INVALID", "The action %q of storage device %d is invalid.", dev.Action, i+1)
		}
		st := storageDoc{UUID: newUUID(0x01), Title: dev.Title, Size: dev.Size, Tier: dev.Tier, Zone: d.Zone, Type: "normal",
			Access: "private", State: "online", Server: d.UUID}
		s.storages[st.UUID] = &storage{doc: st}
		out = append(out, device{Storage: st.UUID, Address: fmt.Sprintf("virtio:%d", i), Type: "disk", StorageSize: st.Size, StorageTitle: st.Title})
	}
	return out, nil
}

func (s *Server) interfaces(d serverDoc) ([]ipAddress, *apiError) {
	var ips []ipAddress
	if d.Networking == nil {
		return []ipAddress{{Access: "public", Address: "94.237.0.10", Family: "IPv4"}}, nil
	}
	for i, f := range d.Networking.Interfaces.Interface {
		switch f.Type {
		case "public":
			ips = append(ips, ipAddress{Access: "public", Address: fmt.Sprintf("94.237.0.%d", 10+len(s.servers)%240), Family: "IPv4"})
		case "private":
			n := s.networks[f.Network]
			if n == nil || n.doc.Zone != d.Zone {
				return nil, fail(400, "NETWORK_INVALID", "The network %q of interface %d is invalid.", f.Network, i+1)
			}
			pfx := netip.MustParsePrefix(n.doc.IPNetworks.IPNetwork[0].Address)
			ip := pfx.Addr().Next().Next()
			for range len(s.servers) % 200 {
				ip = ip.Next()
			}
			ips = append(ips, ipAddress{Access: "private", Address: ip.String(), Family: "IPv4"})
		default:
			return nil, fail(400, "INTERFACE_TYPE_INVALID", "The type %q of interface %d is invalid.", f.Type, i+1)
		}
	}
	return ips, nil
}

func (s *Server) find(r *http.Request) (*server, *apiError) {
	sv := s.servers[r.PathValue("uuid")]
	if sv == nil {
		return nil, fail(404, "SERVER_NOT_FOUND", "The server %s does not exist.", r.PathValue("uuid"))
	}
	return sv, nil
}

func (s *Server) getServer(r *http.Request) (int, any, *apiError) {
	sv, e := s.find(r)
	if e != nil {
		return 0, nil, e
	}
	out := sv.doc
	switch sv.doc.State { // what a later read would show
	case "maintenance":
		sv.doc.State = "started"
	case "stopping":
		sv.doc.State, out.State = "stopped", "maintenance"
	}
	return 200, one("server", out), nil
}

func (s *Server) stopServer(r *http.Request) (int, any, *apiError) {
	sv, e := s.find(r)
	if e != nil {
		return 0, nil, e
	}
	var in struct {
		StopType string `json:"stop_type"`
		Timeout  string `json:"timeout"`
	}
	if e := decode(r, "stop_server", &in); e != nil {
		return 0, nil, e
	}
	if in.StopType != "soft" && in.StopType != "hard" {
		return 0, nil, fail(400, "STOP_TYPE_INVALID", "The stop_type %q is invalid.", in.StopType)
	}
	if sv.doc.State != "started" {
		return 0, nil, fail(409, "SERVER_STATE_ILLEGAL", "The operation is not allowed while the server %s is in state '%s'.", sv.doc.UUID, sv.doc.State)
	}
	sv.doc.State = "stopping"
	out := sv.doc
	out.State = "maintenance"
	return 202, one("server", out), nil
}

func (s *Server) deleteServer(r *http.Request) (int, any, *apiError) {
	sv, e := s.find(r)
	if e != nil {
		return 0, nil, e
	}
	if sv.doc.State != "stopped" {
		return 0, nil, fail(409, "SERVER_STATE_ILLEGAL", "The operation is not allowed while the server %s is in state '%s'.", sv.doc.UUID, sv.doc.State)
	}
	for _, d := range sv.doc.StorageDevices.StorageDevice {
		if r.URL.Query().Get("storages") == "1" {
			delete(s.storages, d.Storage)
		} else if st := s.storages[d.Storage]; st != nil {
			st.doc.Server = ""
		}
	}
	delete(s.servers, sv.doc.UUID)
	return 204, nil, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
