package ec2

import (
	"context"
	"encoding/json"
	"net/url"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// createNetwork makes a VPC with one subnet over its whole block. Neither
// CreateVpc nor CreateSubnet takes a client token: a step run again finds
// what the first run made by the key tag.
func (p *Provider) createNetwork(ctx context.Context, key string, t provisioning.PreparedTask) (provisioning.Resource, error) {
	var s provisioning.NetworkSpec
	_ = json.Unmarshal(t.Spec, &s)
	t2 := keyTags(key, t.ID, s.Tags)
	vpc, err := p.findByKey(ctx, "DescribeVpcs", key)
	if err != nil {
		return provisioning.Resource{}, err
	}
	if vpc == "" {
		params := url.Values{"CidrBlock": {s.CIDR}}
		tags(params, "vpc", t2)
		var out struct {
			ID string `xml:"vpc>vpcId"`
		}
		if err := p.c.Call(ctx, "CreateVpc", params, &out); err != nil {
			return provisioning.Resource{}, err
		}
		vpc = out.ID
	}
	if err := p.wait(ctx, "vpc "+vpc, func() (string, error) { return p.vpcState(ctx, vpc) }, nil, "available"); err != nil {
		return provisioning.Resource{}, err
	}
	subnet, err := p.findByKey(ctx, "DescribeSubnets", key)
	if err != nil {
		return provisioning.Resource{}, err
	}
	if subnet == "" {
		params := url.Values{"VpcId": {vpc}, "CidrBlock": {s.CIDR}}
		tags(params, "subnet", t2)
		var out struct {
			ID string `xml:"subnet>subnetId"`
		}
		if err := p.c.Call(ctx, "CreateSubnet", params, &out); err != nil {
			return provisioning.Resource{}, err
		}
		subnet = out.ID
	}
	attrs := map[string]string{"vpc_id": vpc, "subnet_id": subnet, "cidr": s.CIDR, "region": p.c.Region}
	if len(s.Ingress)+len(s.Egress) > 0 {
		sg, err := p.ensureGroup(ctx, key, vpc, groupRules{name: t.ID, desc: "rules of network " + t.ID + " (Provisioning)",
			ingress: s.Ingress, egress: s.Egress}, t2)
		if err != nil {
			return provisioning.Resource{}, err
		}
		attrs["security_group_id"] = sg
	}
	return resource(vpc, provisioning.KindNetwork, attrs), nil
}

// findByKey is the id of the VPC or subnet (by action) with the key tag, "" if none.
func (p *Provider) findByKey(ctx context.Context, action, key string) (string, error) {
	params := url.Values{}
	filter(params, 1, "tag:"+KeyTag, key)
	var out struct {
		VPCs    []string `xml:"vpcSet>item>vpcId"`
		Subnets []string `xml:"subnetSet>item>subnetId"`
	}
	if err := p.c.Call(ctx, action, params, &out); err != nil {
		return "", err
	}
	if ids := append(out.VPCs, out.Subnets...); len(ids) > 0 {
		return ids[0], nil
	}
	return "", nil
}

func (p *Provider) vpcState(ctx context.Context, id string) (string, error) {
	params := url.Values{}
	list(params, "VpcId", id)
	var out struct {
		States []string `xml:"vpcSet>item>state"`
	}
	if err := p.c.Call(ctx, "DescribeVpcs", params, &out); err != nil {
		return "", err
	}
	if len(out.States) == 0 {
		return "", &APIError{Status: 400, Code: "InvalidVpcID.NotFound", Message: "no vpc " + id}
	}
	return out.States[0], nil
}

// deleteNetwork deletes the security group, the subnet, then the VPC. Instances that were in
// the subnet are terminated first by the rollback's reverse order; EC2
// answers DependencyViolation while they are still shutting down, so it is
// asked again until ctx ends.
func (p *Provider) deleteNetwork(ctx context.Context, r provisioning.Resource) error {
	steps := []struct{ action, param, id string }{{"DeleteSecurityGroup", "GroupId", r.Attrs["security_group_id"]},
		{"DeleteSubnet", "SubnetId", r.Attrs["subnet_id"]}, {"DeleteVpc", "VpcId", r.ID}}
	for _, s := range steps {
		if s.id == "" {
			continue
		}
		if err := p.deleteRetrying(ctx, s.action, s.param, s.id); err != nil {
			return err
		}
	}
	return nil
}
