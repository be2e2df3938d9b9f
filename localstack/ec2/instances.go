package ec2

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

type tag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type stateXML struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

var stateCodes = map[string]int{"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}

type instance struct {
	id, image, itype, subnet, az, token, privateIP, publicIP, state string
	tags                                                            []tag
	volumes                                                         []string
	groups                                                          []string // security group ids
}

type instanceXML struct {
	ID          string     `xml:"instanceId"`
	ImageID     string     `xml:"imageId"`
	State       stateXML   `xml:"instanceState"`
	PrivateDNS  string     `xml:"privateDnsName"`
	Type        string     `xml:"instanceType"`
	AZ          string     `xml:"placement>availabilityZone"`
	SubnetID    string     `xml:"subnetId,omitempty"`
	PrivateIP   string     `xml:"privateIpAddress,omitempty"`
	PublicIP    string     `xml:"ipAddress,omitempty"`
	ClientToken string     `xml:"clientToken"`
	Groups      []groupRef `xml:"groupSet>item"`
	Tags        []tag      `xml:"tagSet>item"`
}

// groupRef is a security group of an instance as EC2 lists it.
type groupRef struct {
	ID   string `xml:"groupId"`
	Name string `xml:"groupName"`
}

func (s *Server) instanceXML(i *instance) instanceXML {
	out := instanceXML{ID: i.id, ImageID: i.image, State: stateXML{stateCodes[i.state], i.state}, Type: i.itype,
		AZ: i.az, SubnetID: i.subnet, PrivateIP: i.privateIP, PublicIP: i.publicIP, ClientToken: i.token, Tags: i.tags,
		PrivateDNS: "ip-" + strings.ReplaceAll(i.privateIP, ".", "-") + ".ec2.internal"}
	for _, id := range i.groups {
		ref := groupRef{ID: id}
		if g := s.groups[id]; g != nil {
			ref.Name = g.name
		}
		out.Groups = append(out.Groups, ref)
	}
	return out
}

// InstanceTypes are the types this region offers.
var InstanceTypes = []string{"t3.micro", "t3.small", "t3.medium", "m6i.large", "m6i.xlarge", "m6i.2xlarge", "m6i.4xlarge",
	"m6i.8xlarge", "m6i.12xlarge", "m6i.16xlarge", "m6i.24xlarge", "m6i.32xlarge"}

// images are the official images this region has (owner, name, id).
var images = []struct{ owner, name, id, date, root string }{
	{"099720109477", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20251001", "ami-0a1b2c3d4e5f60001", "2025-10-01T00:00:00.000Z", "/dev/sda1"},
	{"099720109477", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20251101", "ami-0a1b2c3d4e5f60002", "2025-11-01T00:00:00.000Z", "/dev/sda1"},
	{"099720109477", "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20251101", "ami-0a1b2c3d4e5f60003", "2025-11-01T00:00:00.000Z", "/dev/sda1"},
	{"136693071363", "debian-12-amd64-20251101-1000", "ami-0a1b2c3d4e5f60004", "2025-11-01T00:00:00.000Z", "/dev/xvda"},
	{"792107900819", "Rocky-9-EC2-Base-9.6-20251101.0.x86_64", "ami-0a1b2c3d4e5f60005", "2025-11-01T00:00:00.000Z", "/dev/sda1"},
}

func (s *Server) describeImages(p url.Values) (any, *apiError) {
	type imageXML struct {
		ID    string `xml:"imageId"`
		Name  string `xml:"name"`
		Owner string `xml:"imageOwnerId"`
		State string `xml:"imageState"`
		Date  string `xml:"creationDate"`
		Root  string `xml:"rootDeviceName"`
		Arch  string `xml:"architecture"`
	}
	var out struct {
		Images []imageXML `xml:"imagesSet>item"`
	}
	ids, owners, filters := indexed(p, "ImageId"), indexed(p, "Owner"), filtersOf(p)
	for _, im := range images {
		if (len(ids) > 0 && !slices.Contains(ids, im.id)) || (len(owners) > 0 && !slices.Contains(owners, im.owner)) ||
			!matches(filters, map[string]string{"name": im.name, "state": "available", "image-id": im.id}) {
			continue
		}
		out.Images = append(out.Images, imageXML{im.id, im.name, im.owner, "available", im.date, im.root, "x86_64"})
	}
	if len(ids) > 0 && len(out.Images) == 0 {
		return nil, fail(400, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", strings.Join(ids, ", "))
	}
	return out, nil
}

func (s *Server) runInstances(p url.Values) (any, *apiError) {
	image, itype, tok := p.Get("ImageId"), p.Get("InstanceType"), p.Get("ClientToken")
	switch {
	case image == "":
		return nil, fail(400, "MissingParameter", "The request must contain the parameter ImageId")
	case p.Get("MinCount") != "1" || p.Get("MaxCount") != "1":
		return nil, badParam("this region launches one instance per call (MinCount=MaxCount=1), got %q and %q", p.Get("MinCount"), p.Get("MaxCount"))
	case !slices.Contains(InstanceTypes, itype):
		return nil, badParam("Invalid value '%s' for InstanceType.", itype)
	case len(tok) > 64:
		return nil, badParam("Value (%s) for parameter clientToken is invalid. Length exceeds maximum of 64.", tok)
	}
	if !slices.ContainsFunc(images, func(im struct{ owner, name, id, date, root string }) bool { return im.id == image }) {
		return nil, fail(400, "InvalidAMIID.NotFound", "The image id '[%s]' does not exist", image)
	}
	fp := p.Encode()
	if t, ok := s.tokens[tok]; ok && tok != "" {
		if t.fingerprint != fp {
			return nil, fail(400, "IdempotentParameterMismatch", "The client token %s was used with different parameters", tok)
		}
		return s.reservation(s.instances[t.id]), nil
	}
	subnet := firstOf(p, "SubnetId", "NetworkInterface.1.SubnetId")
	az := s.Region + "a"
	if subnet != "" {
		sn, ok := s.subnets[subnet]
		if !ok {
			return nil, fail(400, "InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", subnet)
		}
		az = sn.az
	}
	groups := append(indexed(p, "SecurityGroupId"), indexed(p, "NetworkInterface.1.SecurityGroupId")...)
	if aerr := s.checkGroups(groups, subnet); aerr != nil {
		return nil, aerr
	}
	tags, aerr := tagsOf(p, "instance")
	if aerr != nil {
		return nil, aerr
	}
	in := &instance{id: newID("i"), image: image, itype: itype, subnet: subnet, az: az, token: tok, state: "pending",
		privateIP: "10.0.0." + strconv.Itoa(10+len(s.instances)%240), tags: tags, groups: groups}
	if p.Get("NetworkInterface.1.AssociatePublicIpAddress") == "true" {
		in.publicIP = "203.0.113." + strconv.Itoa(10+len(s.instances)%240)
	}
	s.instances[in.id] = in
	if tok != "" {
		s.tokens[tok] = token{in.id, fp}
	}
	return s.reservation(in), nil
}

// checkGroups refuses security group ids that are malformed, unknown or
// of another VPC than the subnet, with EC2's codes and words.
func (s *Server) checkGroups(ids []string, subnet string) *apiError {
	for _, id := range ids {
		if !strings.HasPrefix(id, "sg-") {
			return fail(400, "InvalidGroupId.Malformed", "Invalid id: %q (expecting \"sg-...\")", id)
		}
		g := s.groups[id]
		if g == nil {
			return fail(400, "InvalidGroup.NotFound", "The security group '%s' does not exist", id)
		}
		if sn := s.subnets[subnet]; sn != nil && sn.vpc != g.vpc {
			return fail(400, "InvalidParameter", "Security group %s and subnet %s belong to different networks.", id, subnet)
		}
	}
	return nil
}

func (s *Server) reservation(in *instance) any {
	return struct {
		ReservationID string        `xml:"reservationId"`
		OwnerID       string        `xml:"ownerId"`
		Groups        string        `xml:"groupSet"`
		Instances     []instanceXML `xml:"instancesSet>item"`
	}{"r-" + strings.TrimPrefix(in.id, "i-"), "000000000000", "", []instanceXML{s.instanceXML(in)}}
}

func (s *Server) describeInstances(p url.Values) (any, *apiError) {
	type reservation struct {
		ReservationID string        `xml:"reservationId"`
		OwnerID       string        `xml:"ownerId"`
		Groups        string        `xml:"groupSet"`
		Instances     []instanceXML `xml:"instancesSet>item"`
	}
	var out struct {
		Reservations []reservation `xml:"reservationSet>item"`
	}
	ids, filters := indexed(p, "InstanceId"), filtersOf(p)
	for _, id := range ids {
		if s.instances[id] == nil {
			return nil, fail(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
	}
	for _, id := range sortedKeys(s.instances) {
		in := s.instances[id]
		if (len(ids) > 0 && !slices.Contains(ids, id)) || !matches(filters, tagMap(in.tags, map[string]string{
			"instance-state-name": in.state, "client-token": in.token, "instance-id": id})) {
			continue
		}
		out.Reservations = append(out.Reservations, reservation{"r-" + strings.TrimPrefix(id, "i-"), "000000000000", "", []instanceXML{s.instanceXML(in)}})
		advance(&in.state, "pending", "running", "shutting-down", "terminated")
	}
	return out, nil
}

func (s *Server) terminateInstances(p url.Values) (any, *apiError) {
	type change struct {
		ID       string   `xml:"instanceId"`
		Current  stateXML `xml:"currentState"`
		Previous stateXML `xml:"previousState"`
	}
	var out struct {
		Instances []change `xml:"instancesSet>item"`
	}
	ids := indexed(p, "InstanceId")
	if len(ids) == 0 {
		return nil, fail(400, "MissingParameter", "The request must contain the parameter InstanceId")
	}
	for _, id := range ids {
		in := s.instances[id]
		if in == nil {
			return nil, fail(400, "InvalidInstanceID.NotFound", "The instance ID '%s' does not exist", id)
		}
		prev := in.state
		if in.state != "terminated" {
			in.state = "shutting-down"
			for _, v := range s.volumes {
				if v.instance == id && v.deleteOnTermination {
					v.state = "deleted"
				}
			}
		}
		out.Instances = append(out.Instances, change{id, stateXML{stateCodes[in.state], in.state}, stateXML{stateCodes[prev], prev}})
	}
	return out, nil
}

// advance moves state one step along a pending → running and a
// shutting-down → terminated path, as a later read of EC2 would show.
func advance(state *string, pairs ...string) {
	for i := 0; i+1 < len(pairs); i += 2 {
		if *state == pairs[i] {
			*state = pairs[i+1]
			return
		}
	}
}

// indexed are the values of prefix.1, prefix.2…
func indexed(p url.Values, prefix string) []string {
	var out []string
	for i := 1; p.Has(prefix + "." + strconv.Itoa(i)); i++ {
		out = append(out, p.Get(prefix+"."+strconv.Itoa(i)))
	}
	return out
}

func firstOf(p url.Values, keys ...string) string {
	for _, k := range keys {
		if v := p.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// filtersOf reads Filter.n.Name and Filter.n.Value.m.
func filtersOf(p url.Values) map[string][]string {
	out := map[string][]string{}
	for i := 1; p.Has("Filter." + strconv.Itoa(i) + ".Name"); i++ {
		f := "Filter." + strconv.Itoa(i)
		out[p.Get(f+".Name")] = indexed(p, f+".Value")
	}
	return out
}

// matches reports whether fields satisfy every filter (values may hold * and ?).
func matches(filters map[string][]string, fields map[string]string) bool {
	for name, values := range filters {
		v, ok := fields[name]
		if !ok {
			return false
		}
		if !slices.ContainsFunc(values, func(pat string) bool { return glob(pat, v) }) {
			return false
		}
	}
	return true
}

// glob matches EC2's filter wildcards: * any run of characters (slashes
// too), ? one character.
func glob(pat, s string) bool {
	var re strings.Builder
	re.WriteString("^")
	for _, r := range pat {
		switch r {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	ok, _ := regexp.MatchString(re.String()+"$", s)
	return ok
}

func tagMap(tags []tag, fields map[string]string) map[string]string {
	for _, t := range tags {
		fields["tag:"+t.Key] = t.Value
	}
	return fields
}

// tagsOf reads TagSpecification.n for resourceType.
func tagsOf(p url.Values, resourceType string) ([]tag, *apiError) {
	var out []tag
	for i := 1; p.Has("TagSpecification." + strconv.Itoa(i) + ".ResourceType"); i++ {
		ts := "TagSpecification." + strconv.Itoa(i)
		if rt := p.Get(ts + ".ResourceType"); rt != resourceType {
			return nil, badParam("'%s' is not a valid taggable resource type for this operation.", rt)
		}
		for j := 1; p.Has(ts + ".Tag." + strconv.Itoa(j) + ".Key"); j++ {
			k := p.Get(ts + ".Tag." + strconv.Itoa(j) + ".Key")
			if strings.HasPrefix(k, "aws:") || len(k) > 128 {
				return nil, fail(400, "InvalidParameterValue", "Tag key '%s' is not allowed", k)
			}
			out = append(out, tag{k, p.Get(ts + ".Tag." + strconv.Itoa(j) + ".Value")})
		}
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
