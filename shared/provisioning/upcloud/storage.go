package upcloud

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// createStorage makes a block storage in the zone, unless an earlier run of
// the step made it, waits until it is online and attaches it to its server.
func (p *Provider) createStorage(ctx context.Context, key string, t provisioning.PreparedTask, deps map[string]provisioning.Resource) (provisioning.Resource, error) {
	var s provisioning.StorageSpec
	_ = json.Unmarshal(t.Spec, &s)
	var list struct {
		Storages struct {
			Storage []Storage `json:"storage"`
		} `json:"storages"`
	}
	if err := p.c.Do(ctx, "GET", "/1.3/storage/normal", nil, &list); err != nil {
		return provisioning.Resource{}, err
	}
	uuid := ""
	for _, st := range list.Storages.Storage {
		if hasKey(st.Labels, key) {
			uuid = st.UUID
		}
	}
	if uuid == "" {
		var out struct {
			Storage Storage `json:"storage"`
		}
		in := Storage{Title: t.ID, Size: s.SizeGB, Tier: Tier(s.Type), Zone: p.zone, Labels: withKey(key, s.Tags)}
		if err := p.c.Do(ctx, "POST", "/1.3/storage", map[string]any{"storage": in}, &out); err != nil {
			return provisioning.Resource{}, err
		}
		uuid = out.Storage.UUID
	}
	read := func() (string, error) { st, err := p.storage(ctx, uuid); return st.State, err }
	if err := p.wait(ctx, "storage "+uuid, read, "online"); err != nil {
		return provisioning.Resource{}, err
	}
	attrs := map[string]string{"uuid": uuid, "zone": p.zone}
	server, ok := deps[s.AttachTo]
	if !ok {
		return resource(uuid, provisioning.KindStorage, attrs), nil
	}
	sv, err := p.server(ctx, server.ID)
	if err != nil {
		return provisioning.Resource{}, err
	}
	address := ""
	for _, d := range sv.StorageDevices.StorageDevice {
		if d.Storage == uuid {
			address = d.Address
		}
	}
	if address == "" {
		dev := map[string]any{"storage_device": storageDevice{Type: "disk", Address: "virtio", Storage: uuid}}
		var out struct {
			Server Server `json:"server"`
		}
		err := p.retry(ctx, func() error {
			return p.c.Do(ctx, "POST", "/1.3/server/"+url.PathEscape(server.ID)+"/storage/attach", dev, &out)
		})
		if err != nil {
			return provisioning.Resource{}, err
		}
		for _, d := range out.Server.StorageDevices.StorageDevice {
			if d.Storage == uuid {
				address = d.Address
			}
		}
	}
	attrs["server"], attrs["address"] = server.ID, address
	return resource(uuid, provisioning.KindStorage, attrs), nil
}

func (p *Provider) storage(ctx context.Context, uuid string) (Storage, error) {
	var out struct {
		Storage Storage `json:"storage"`
	}
	err := p.c.Do(ctx, "GET", "/1.3/storage/"+url.PathEscape(uuid), nil, &out)
	return out.Storage, err
}

// deleteStorage detaches the storage from its server, then deletes it.
func (p *Provider) deleteStorage(ctx context.Context, r provisioning.Resource) error {
	if srv, addr := r.Attrs["server"], r.Attrs["address"]; srv != "" && addr != "" {
		dev := map[string]any{"storage_device": storageDevice{Address: addr}}
		err := p.retry(ctx, func() error {
			return p.c.Do(ctx, "POST", "/1.3/server/"+url.PathEscape(srv)+"/storage/detach", dev, nil)
		})
		if err != nil && !NotFound(err) && !isCode(err, "STORAGE_DEVICE_NOT_FOUND") {
			return err
		}
	}
	return p.retry(ctx, func() error { return p.c.Do(ctx, "DELETE", "/1.3/storage/"+url.PathEscape(r.ID), nil, nil) })
}

func isCode(err error, code string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}
