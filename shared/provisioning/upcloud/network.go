package upcloud

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// createNetwork makes a private network (SDN) over the spec's block, with
// DHCP, unless an earlier run of the step made it.
func (p *Provider) createNetwork(ctx context.Context, key string, t provisioning.PreparedTask) (provisioning.Resource, error) {
	var s provisioning.NetworkSpec
	_ = json.Unmarshal(t.Spec, &s)
	var list struct {
		Networks struct {
			Network []Network `json:"network"`
		} `json:"networks"`
	}
	if err := p.c.Do(ctx, "GET", "/1.3/network?"+url.Values{"zone": {p.zone}}.Encode(), nil, &list); err != nil {
		return provisioning.Resource{}, err
	}
	attrs := map[string]string{"cidr": s.CIDR, "zone": p.zone}
	for _, n := range list.Networks.Network {
		if hasKey(n.Labels, key) {
			attrs["uuid"] = n.UUID
			return resource(n.UUID, provisioning.KindNetwork, attrs), nil
		}
	}
	n := Network{Name: t.ID, Zone: p.zone, Labels: withKey(key, s.Tags)}
	n.IPNetworks.IPNetwork = append(n.IPNetworks.IPNetwork, struct {
		Address string `json:"address"`
		DHCP    string `json:"dhcp"`
		Family  string `json:"family"`
	}{s.CIDR, "yes", "IPv4"})
	var out struct {
		Network Network `json:"network"`
	}
	if err := p.c.Do(ctx, "POST", "/1.3/network", map[string]any{"network": n}, &out); err != nil {
		return provisioning.Resource{}, err
	}
	attrs["uuid"] = out.Network.UUID
	return resource(out.Network.UUID, provisioning.KindNetwork, attrs), nil
}
