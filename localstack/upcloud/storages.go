package upcloud

import (
	"fmt"
	"net/http"
	"net/netip"
	"slices"
)

func (s *Server) listTemplates(*http.Request) (int, any, *apiError) {
	return 200, many("storages", "storage", templates), nil
}

func (s *Server) listNormal(*http.Request) (int, any, *apiError) {
	list := []storageDoc{}
	for _, id := range sortedKeys(s.storages) {
		if st := s.storages[id]; st.doc.Type == "normal" {
			list = append(list, st.doc)
		}
	}
	return 200, many("storages", "storage", list), nil
}

func (s *Server) createStorage(r *http.Request) (int, any, *apiError) {
	var d storageDoc
	if e := decode(r, "storage", &d); e != nil {
		return 0, nil, e
	}
	switch {
	case !slices.Contains(Zones, d.Zone):
		return 0, nil, fail(400, "ZONE_INVALID", "The zone %q is invalid.", d.Zone)
	case d.Size < 1 || d.Size > 4096:
		return 0, nil, fail(400, "SIZE_INVALID", "The size %d is invalid.", d.Size)
	case d.Tier != "" && d.Tier != "maxiops" && d.Tier != "hdd" && d.Tier != "standard":
		return 0, nil, fail(400, "TIER_INVALID", "The tier %q is invalid.", d.Tier)
	case d.Title == "":
		return 0, nil, fail(400, "TITLE_INVALID", "The title is invalid.")
	}
	if e := checkLabels(d.Labels); e != nil {
		return 0, nil, e
	}
	d.UUID, d.State, d.Type, d.Access = newUUID(0x01), "maintenance", "normal", "private"
	s.storages[d.UUID] = &storage{doc: d}
	return 201, one("storage", d), nil
}

func (s *Server) findStorage(uuid string) (*storage, *apiError) {
	st := s.storages[uuid]
	if st == nil {
		return nil, fail(404, "STORAGE_NOT_FOUND", "The storage %s does not exist.", uuid)
	}
	return st, nil
}

func (s *Server) getStorage(r *http.Request) (int, any, *apiError) {
	st, e := s.findStorage(r.PathValue("uuid"))
	if e != nil {
		return 0, nil, e
	}
	out := st.doc
	if st.doc.State == "maintenance" {
		st.doc.State = "online"
	}
	return 200, one("storage", out), nil
}

func (s *Server) deleteStorage(r *http.Request) (int, any, *apiError) {
	st, e := s.findStorage(r.PathValue("uuid"))
	if e != nil {
		return 0, nil, e
	}
	switch {
	case st.doc.Type == "template":
		return 0, nil, fail(403, "STORAGE_FORBIDDEN", "The storage %s is a public template.", st.doc.UUID)
	case st.doc.Server != "":
		return 0, nil, fail(409, "STORAGE_ATTACHED", "The storage %s is attached to server %s.", st.doc.UUID, st.doc.Server)
	case st.doc.State != "online":
		return 0, nil, fail(409, "STORAGE_STATE_ILLEGAL", "The storage %s is in state '%s'.", st.doc.UUID, st.doc.State)
	}
	delete(s.storages, st.doc.UUID)
	return 204, nil, nil
}

func (s *Server) attach(r *http.Request) (int, any, *apiError) {
	sv, e := s.find(r)
	if e != nil {
		return 0, nil, e
	}
	var in device
	if e := decode(r, "storage_device", &in); e != nil {
		return 0, nil, e
	}
	st, e := s.findStorage(in.Storage)
	switch {
	case e != nil:
		return 0, nil, e
	case st.doc.Server != "":
		return 0, nil, fail(409, "STORAGE_ATTACHED", "The storage %s is attached to server %s.", st.doc.UUID, st.doc.Server)
	case st.doc.State != "online":
		return 0, nil, fail(409, "STORAGE_STATE_ILLEGAL", "The storage %s is in state '%s'.", st.doc.UUID, st.doc.State)
	case st.doc.Zone != sv.doc.Zone:
		return 0, nil, fail(400, "STORAGE_INVALID", "The storage %s is in another zone.", st.doc.UUID)
	case in.Address != "virtio" && in.Address != "":
		return 0, nil, fail(400, "ADDRESS_INVALID", "The address %q is invalid.", in.Address)
	}
	st.doc.Server = sv.doc.UUID
	devs := &sv.doc.StorageDevices.StorageDevice
	*devs = append(*devs, device{Storage: st.doc.UUID, Address: fmt.Sprintf("virtio:%d", len(*devs)), Type: "disk",
		StorageSize: st.doc.Size, StorageTitle: st.doc.Title})
	return 200, one("server", sv.doc), nil
}

func (s *Server) detach(r *http.Request) (int, any, *apiError) {
	sv, e := s.find(r)
	if e != nil {
		return 0, nil, e
	}
	var in device
	if e := decode(r, "storage_device", &in); e != nil {
		return 0, nil, e
	}
	devs := &sv.doc.StorageDevices.StorageDevice
	i := slices.IndexFunc(*devs, func(d device) bool { return d.Address == in.Address })
	if i < 0 {
		return 0, nil, fail(404, "STORAGE_DEVICE_NOT_FOUND", "The server %s has no storage device at %s.", sv.doc.UUID, in.Address)
	}
	if st := s.storages[(*devs)[i].Storage]; st != nil {
		st.doc.Server = ""
	}
	*devs = slices.Delete(*devs, i, i+1)
	return 200, one("server", sv.doc), nil
}

func (s *Server) listNetworks(r *http.Request) (int, any, *apiError) {
	list := []networkDoc{}
	for _, id := range sortedKeys(s.networks) {
		if n := s.networks[id]; r.URL.Query().Get("zone") == "" || n.doc.Zone == r.URL.Query().Get("zone") {
			list = append(list, n.doc)
		}
	}
	return 200, many("networks", "network", list), nil
}

func (s *Server) createNetwork(r *http.Request) (int, any, *apiError) {
	var d networkDoc
	if e := decode(r, "network", &d); e != nil {
		return 0, nil, e
	}
	switch {
	case !slices.Contains(Zones, d.Zone):
		return 0, nil, fail(400, "ZONE_INVALID", "The zone %q is invalid.", d.Zone)
	case d.Name == "":
		return 0, nil, fail(400, "NAME_INVALID", "The name is invalid.")
	case len(d.IPNetworks.IPNetwork) != 1:
		return 0, nil, fail(400, "IP_NETWORKS_INVALID", "A network needs exactly one IP network here.")
	}
	if p, err := netip.ParsePrefix(d.IPNetworks.IPNetwork[0].Address); err != nil || !p.Addr().Is4() || p.Bits() < 8 || p.Bits() > 29 {
		return 0, nil, fail(400, "IP_NETWORK_ADDRESS_INVALID", "The address %q is invalid.", d.IPNetworks.IPNetwork[0].Address)
	}
	if e := checkLabels(d.Labels); e != nil {
		return 0, nil, e
	}
	d.UUID, d.Type = newUUID(0x03), "private"
	s.networks[d.UUID] = &network{doc: d}
	return 201, one("network", d), nil
}

func (s *Server) getNetwork(r *http.Request) (int, any, *apiError) {
	n := s.networks[r.PathValue("uuid")]
	if n == nil {
		return 0, nil, fail(404, "NETWORK_NOT_FOUND", "The network %s does not exist.", r.PathValue("uuid"))
	}
	return 200, one("network", n.doc), nil
}

func (s *Server) deleteNetwork(r *http.Request) (int, any, *apiError) {
	id := r.PathValue("uuid")
	if s.networks[id] == nil {
		return 0, nil, fail(404, "NETWORK_NOT_FOUND", "The network %s does not exist.", id)
	}
	delete(s.networks, id)
	return 204, nil, nil
}
