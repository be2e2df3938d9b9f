package ec2

import (
	"net/netip"
	"net/url"
	"slices"
)

type vpc struct {
	id, cidr, state string
	tags            []tag
}

type subnet struct {
	id, vpc, cidr, az string
	tags              []tag
}

type vpcXML struct {
	ID    string `xml:"vpcId"`
	State string `xml:"state"`
	CIDR  string `xml:"cidrBlock"`
	Tags  []tag  `xml:"tagSet>item"`
}

type subnetXML struct {
	ID    string `xml:"subnetId"`
	State string `xml:"state"`
	VPC   string `xml:"vpcId"`
	CIDR  string `xml:"cidrBlock"`
	AZ    string `xml:"availabilityZone"`
	Tags  []tag  `xml:"tagSet>item"`
}

func block(p url.Values, min, max int) (netip.Prefix, *apiError) {
	raw := p.Get("CidrBlock")
	if raw == "" {
		return netip.Prefix{}, fail(400, "MissingParameter", "The request must contain the parameter CidrBlock")
	}
	pfx, err := netip.ParsePrefix(raw)
	if err != nil || !pfx.Addr().Is4() || pfx.Masked() != pfx {
		return netip.Prefix{}, badParam("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", raw)
	}
	if pfx.Bits() < min || pfx.Bits() > max {
		return netip.Prefix{}, fail(400, "InvalidVpc.Range", "The CIDR '%s' is invalid.", raw)
	}
	return pfx, nil
}

func (s *Server) createVpc(p url.Values) (any, *apiError) {
	pfx, aerr := block(p, 16, 28)
	if aerr != nil {
		return nil, aerr
	}
	tags, aerr := tagsOf(p, "vpc")
	if aerr != nil {
		return nil, aerr
	}
	v := &vpc{id: newID("vpc"), cidr: pfx.String(), state: "pending", tags: tags}
	s.vpcs[v.id] = v
	return struct {
		VPC vpcXML `xml:"vpc"`
	}{vpcXML{v.id, v.state, v.cidr, v.tags}}, nil
}

func (s *Server) describeVpcs(p url.Values) (any, *apiError) {
	var out struct {
		VPCs []vpcXML `xml:"vpcSet>item"`
	}
	ids, filters := indexed(p, "VpcId"), filtersOf(p)
	for _, id := range ids {
		if s.vpcs[id] == nil {
			return nil, fail(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
		}
	}
	for _, id := range sortedKeys(s.vpcs) {
		v := s.vpcs[id]
		if (len(ids) > 0 && !slices.Contains(ids, id)) || !matches(filters, tagMap(v.tags, map[string]string{"vpc-id": id, "state": v.state})) {
			continue
		}
		out.VPCs = append(out.VPCs, vpcXML{v.id, v.state, v.cidr, v.tags})
		advance(&v.state, "pending", "available")
	}
	return out, nil
}

func (s *Server) deleteVpc(p url.Values) (any, *apiError) {
	id := p.Get("VpcId")
	if s.vpcs[id] == nil {
		return nil, fail(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", id)
	}
	for _, sn := range s.subnets {
		if sn.vpc == id {
			return nil, fail(400, "DependencyViolation", "The vpc '%s' has dependencies and cannot be deleted.", id)
		}
	}
	for _, g := range s.groups {
		if g.vpc == id {
			return nil, fail(400, "DependencyViolation", "The vpc '%s' has dependencies and cannot be deleted.", id)
		}
	}
	delete(s.vpcs, id)
	return struct {
		Return bool `xml:"return"`
	}{true}, nil
}

func (s *Server) createSubnet(p url.Values) (any, *apiError) {
	v := s.vpcs[p.Get("VpcId")]
	if v == nil {
		return nil, fail(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", p.Get("VpcId"))
	}
	pfx, aerr := block(p, 16, 28)
	if aerr != nil {
		return nil, aerr
	}
	if vp := netip.MustParsePrefix(v.cidr); !vp.Contains(pfx.Addr()) || pfx.Bits() < vp.Bits() {
		return nil, fail(400, "InvalidSubnet.Range", "The CIDR '%s' is invalid.", pfx)
	}
	tags, aerr := tagsOf(p, "subnet")
	if aerr != nil {
		return nil, aerr
	}
	az := p.Get("AvailabilityZone")
	if az == "" {
		az = s.Region + "a"
	}
	sn := &subnet{id: newID("subnet"), vpc: v.id, cidr: pfx.String(), az: az, tags: tags}
	s.subnets[sn.id] = sn
	return struct {
		Subnet subnetXML `xml:"subnet"`
	}{subnetXML{sn.id, "available", sn.vpc, sn.cidr, sn.az, sn.tags}}, nil
}

func (s *Server) describeSubnets(p url.Values) (any, *apiError) {
	var out struct {
		Subnets []subnetXML `xml:"subnetSet>item"`
	}
	ids, filters := indexed(p, "SubnetId"), filtersOf(p)
	for _, id := range ids {
		if s.subnets[id] == nil {
			return nil, fail(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		}
	}
	for _, id := range sortedKeys(s.subnets) {
		sn := s.subnets[id]
		if (len(ids) > 0 && !slices.Contains(ids, id)) || !matches(filters, tagMap(sn.tags, map[string]string{"subnet-id": id, "vpc-id": sn.vpc})) {
			continue
		}
		out.Subnets = append(out.Subnets, subnetXML{sn.id, "available", sn.vpc, sn.cidr, sn.az, sn.tags})
	}
	return out, nil
}

func (s *Server) deleteSubnet(p url.Values) (any, *apiError) {
	id := p.Get("SubnetId")
	if s.subnets[id] == nil {
		return nil, fail(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
	}
	for _, in := range s.instances {
		if in.subnet == id && in.state != "terminated" {
			return nil, fail(400, "DependencyViolation", "The subnet '%s' has dependencies and cannot be deleted.", id)
		}
	}
	delete(s.subnets, id)
	return struct {
		Return bool `xml:"return"`
	}{true}, nil
}
