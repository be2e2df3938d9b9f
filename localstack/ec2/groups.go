package ec2

import (
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// securityGroup is a VPC security group with its rules. A new group lets
// everything out (EC2's default egress rule) and nothing in.
type securityGroup struct {
	id, name, desc, vpc string
	tags                []tag
	ingress, egress     []permission
}

// allowAllOut is the egress rule EC2 gives every new VPC security group.
var allowAllOut = permission{Protocol: "-1", CIDR: "0.0.0.0/0"}

// permission is one rule: a protocol, a port range and one CIDR (where
// traffic comes from for ingress, where it goes for egress).
type permission struct {
	Protocol string `xml:"ipProtocol"`
	FromPort *int   `xml:"fromPort,omitempty"`
	ToPort   *int   `xml:"toPort,omitempty"`
	CIDR     string `xml:"ipRanges>item>cidrIp"`
}

type groupXML struct {
	OwnerID string       `xml:"ownerId"`
	ID      string       `xml:"groupId"`
	Name    string       `xml:"groupName"`
	Desc    string       `xml:"groupDescription"`
	VPC     string       `xml:"vpcId"`
	Ingress []permission `xml:"ipPermissions>item"`
	Egress  []permission `xml:"ipPermissionsEgress>item"`
	Tags    []tag        `xml:"tagSet>item"`
}

// ownerID is the account id the local region answers with.
const ownerID = "000000000000"

type returnXML struct {
	Return bool `xml:"return"`
}

func (s *Server) createSecurityGroup(p url.Values) (any, *apiError) {
	name, desc, vpcID := p.Get("GroupName"), p.Get("GroupDescription"), p.Get("VpcId")
	switch {
	case name == "":
		return nil, fail(400, "MissingParameter", "The request must contain the parameter groupName")
	case desc == "":
		return nil, fail(400, "MissingParameter", "The request must contain the parameter groupDescription")
	case s.vpcs[vpcID] == nil:
		return nil, fail(400, "InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", vpcID)
	case strings.HasPrefix(strings.ToLower(name), "sg-"):
		return nil, badParam("Group names may not be in the format sg-*.")
	}
	for _, g := range s.groups {
		if g.vpc == vpcID && g.name == name {
			return nil, fail(400, "InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, vpcID)
		}
	}
	tags, aerr := tagsOf(p, "security-group")
	if aerr != nil {
		return nil, aerr
	}
	g := &securityGroup{id: newID("sg"), name: name, desc: desc, vpc: vpcID, tags: tags, egress: []permission{allowAllOut}}
	s.groups[g.id] = g
	return struct {
		Return bool   `xml:"return"`
		ID     string `xml:"groupId"`
		Tags   []tag  `xml:"tagSet>item"`
	}{true, g.id, g.tags}, nil
}

// permissionsOf reads IpPermissions.N (one permission per CIDR of each).
func permissionsOf(p url.Values) ([]permission, *apiError) {
	var out []permission
	for i := 1; p.Has("IpPermissions." + strconv.Itoa(i) + ".IpProtocol"); i++ {
		f := "IpPermissions." + strconv.Itoa(i)
		proto := strings.ToLower(p.Get(f + ".IpProtocol"))
		var from, to *int
		switch proto {
		case "-1", "all":
			proto = "-1"
		case "tcp", "udp", "icmp":
			a, errA := strconv.Atoi(p.Get(f + ".FromPort"))
			b, errB := strconv.Atoi(p.Get(f + ".ToPort"))
			if errA != nil || errB != nil {
				return nil, fail(400, "InvalidParameterValue", "Invalid value for portRange. Must specify both from and to ports with TCP/UDP.")
			}
			if proto != "icmp" && (a < 0 || b > 65535 || a > b) {
				return nil, fail(400, "InvalidParameterValue", "Invalid TCP/UDP port range %d-%d", a, b)
			}
			from, to = &a, &b
		default:
			return nil, fail(400, "InvalidParameterValue", "Invalid value '%s' for IP protocol. Unknown protocol.", proto)
		}
		cidrs := indexedField(p, f+".IpRanges", "CidrIp")
		if len(cidrs) == 0 {
			return nil, fail(400, "MissingParameter", "The request must contain the parameter ipRanges")
		}
		for _, c := range cidrs {
			if pfx, err := netip.ParsePrefix(c); err != nil || pfx.Masked() != pfx {
				return nil, badParam("CIDR block %s is malformed", c)
			}
			out = append(out, permission{Protocol: proto, FromPort: from, ToPort: to, CIDR: c})
		}
	}
	if len(out) == 0 {
		return nil, fail(400, "MissingParameter", "The request must contain the parameter ipPermissions")
	}
	return out, nil
}

// indexedField reads prefix.N.field for N = 1, 2, ….
func indexedField(p url.Values, prefix, field string) []string {
	var out []string
	for i := 1; p.Has(prefix + "." + strconv.Itoa(i) + "." + field); i++ {
		out = append(out, p.Get(prefix+"."+strconv.Itoa(i)+"."+field))
	}
	return out
}

func (perm permission) String() string {
	proto := map[string]string{"-1": "ALL", "tcp": "TCP", "udp": "UDP", "icmp": "ICMP"}[perm.Protocol]
	if perm.FromPort == nil {
		return fmt.Sprintf("peer: %s, %s, ALLOW", perm.CIDR, proto)
	}
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", perm.CIDR, proto, *perm.FromPort, *perm.ToPort)
}

func (s *Server) authorizeSecurityGroupIngress(p url.Values) (any, *apiError) {
	return s.authorize(p, func(g *securityGroup) *[]permission { return &g.ingress })
}

func (s *Server) authorizeSecurityGroupEgress(p url.Values) (any, *apiError) {
	return s.authorize(p, func(g *securityGroup) *[]permission { return &g.egress })
}

// authorize adds IpPermissions to the group's rules that side picks: all
// or nothing, as EC2, which refuses the call when one is there already.
func (s *Server) authorize(p url.Values, side func(*securityGroup) *[]permission) (any, *apiError) {
	g, perms, aerr := s.groupAndPermissions(p)
	if aerr != nil {
		return nil, aerr
	}
	rules := side(g)
	for _, perm := range perms {
		if slices.ContainsFunc(*rules, perm.same) {
			return nil, fail(400, "InvalidPermission.Duplicate", "the specified rule %q already exists", perm.String())
		}
	}
	*rules = append(*rules, perms...)
	return returnXML{true}, nil
}

// revokeSecurityGroupEgress removes IpPermissions from the group's egress
// rules; a rule the group does not have fails the call, as EC2.
func (s *Server) revokeSecurityGroupEgress(p url.Values) (any, *apiError) {
	g, perms, aerr := s.groupAndPermissions(p)
	if aerr != nil {
		return nil, aerr
	}
	for _, perm := range perms {
		if !slices.ContainsFunc(g.egress, perm.same) {
			return nil, fail(400, "InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
		}
	}
	g.egress = slices.DeleteFunc(g.egress, func(q permission) bool { return slices.ContainsFunc(perms, q.same) })
	return returnXML{true}, nil
}

func (s *Server) groupAndPermissions(p url.Values) (*securityGroup, []permission, *apiError) {
	id := p.Get("GroupId")
	if id == "" {
		return nil, nil, fail(400, "MissingParameter", "The request must contain the parameter groupId")
	}
	g := s.groups[id]
	if g == nil {
		return nil, nil, fail(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	perms, aerr := permissionsOf(p)
	return g, perms, aerr
}

func (perm permission) same(q permission) bool { return perm.String() == q.String() }

func (s *Server) describeSecurityGroups(p url.Values) (any, *apiError) {
	var out struct {
		Groups []groupXML `xml:"securityGroupInfo>item"`
	}
	ids, filters := indexed(p, "GroupId"), filtersOf(p)
	for _, id := range ids {
		if s.groups[id] == nil {
			return nil, fail(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
	}
	for _, id := range sortedKeys(s.groups) {
		g := s.groups[id]
		if (len(ids) > 0 && !slices.Contains(ids, id)) ||
			!matches(filters, tagMap(g.tags, map[string]string{"group-id": id, "group-name": g.name, "vpc-id": g.vpc})) {
			continue
		}
		out.Groups = append(out.Groups, groupXML{ownerID, g.id, g.name, g.desc, g.vpc, g.ingress, g.egress, g.tags})
	}
	return out, nil
}

func (s *Server) deleteSecurityGroup(p url.Values) (any, *apiError) {
	id := p.Get("GroupId")
	g := s.groups[id]
	if g == nil {
		return nil, fail(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
	}
	for _, in := range s.instances {
		if in.state != "terminated" && slices.Contains(in.groups, id) {
			return nil, fail(400, "DependencyViolation", "resource %s has a dependent object", id)
		}
	}
	delete(s.groups, id)
	return returnXML{true}, nil
}
