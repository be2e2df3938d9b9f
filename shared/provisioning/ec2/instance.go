package ec2

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

type state struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type instance struct {
	ID           string `xml:"instanceId"`
	ImageID      string `xml:"imageId"`
	State        state  `xml:"instanceState"`
	InstanceType string `xml:"instanceType"`
	PrivateIP    string `xml:"privateIpAddress"`
	PublicIP     string `xml:"ipAddress"`
	AZ           string `xml:"placement>availabilityZone"`
	SubnetID     string `xml:"subnetId"`
	ClientToken  string `xml:"clientToken"`
}

type image struct {
	ID           string `xml:"imageId"`
	CreationDate string `xml:"creationDate"`
	RootDevice   string `xml:"rootDeviceName"`
}

// imageOwners and imageNames find an OS family's official images: Canonical,
// Debian and the Rocky Enterprise Software Foundation publish them.
var imageOwners = map[string]string{"ubuntu": "099720109477", "debian": "136693071363", "rocky": "792107900819"}
var imageNames = map[string]string{"ubuntu": "ubuntu/images/*ubuntu-*-%s-amd64-server-*", "debian": "debian-%s-amd64-*", "rocky": "Rocky-%s-EC2-Base-*x86_64*"}

// instanceTypes are the general purpose types, smallest first: vCPUs, GiB.
var instanceTypes = []struct {
	name     string
	cpu, mem int
}{{"t3.micro", 2, 1}, {"t3.small", 2, 2}, {"t3.medium", 2, 4}, {"m6i.large", 2, 8}, {"m6i.xlarge", 4, 16},
	{"m6i.2xlarge", 8, 32}, {"m6i.4xlarge", 16, 64}, {"m6i.8xlarge", 32, 128}, {"m6i.12xlarge", 48, 192},
	{"m6i.16xlarge", 64, 256}, {"m6i.24xlarge", 96, 384}, {"m6i.32xlarge", 128, 512}}

// InstanceType is the smallest general purpose type with cpu vCPUs and mem GiB.
func InstanceType(cpu, mem int) (string, bool) {
	for _, t := range instanceTypes {
		if t.cpu >= cpu && t.mem >= mem {
			return t.name, true
		}
	}
	return "", false
}

// createInstance runs one instance with the step's client token, so a step
// run again gets the same instance back, and waits until it runs.
func (p *Provider) createInstance(ctx context.Context, key string, t provisioning.PreparedTask, deps map[string]provisioning.Resource) (provisioning.Resource, error) {
	var s provisioning.ServerSpec
	_ = json.Unmarshal(t.Spec, &s)
	itype, _ := s.Metadata["instance_type"].(string)
	if itype == "" {
		var ok bool
		if itype, ok = InstanceType(s.CPU, s.MemoryGB); !ok {
			return provisioning.Resource{}, provisioning.Permanent(fmt.Errorf("no instance type has %d vCPUs and %d GiB", s.CPU, s.MemoryGB))
		}
	}
	img, err := p.image(ctx, s)
	if err != nil {
		return provisioning.Resource{}, err
	}
	params := url.Values{"ImageId": {img.ID}, "InstanceType": {itype}, "MinCount": {"1"}, "MaxCount": {"1"},
		"ClientToken": {clientToken(key)}}
	name := s.Name
	if name == "" {
		name = t.ID
	}
	subnet, groups, own, err := p.placement(ctx, key, name, s, t.DependsOn, deps)
	if err != nil {
		return provisioning.Resource{}, err
	}
	placeNetwork(params, s.Networking, subnet, groups)
	disks(params, img.RootDevice, s)
	tags(params, "instance", keyTags(key, name, s.Tags))
	var out struct {
		Instances []instance `xml:"instancesSet>item"`
	}
	if err := p.c.Call(ctx, "RunInstances", params, &out); err != nil {
		return provisioning.Resource{}, err
	}
	if len(out.Instances) != 1 {
		return provisioning.Resource{}, fmt.Errorf("RunInstances returned %d instances", len(out.Instances))
	}
	id := out.Instances[0].ID
	var in instance
	err = p.wait(ctx, "instance "+id, func() (string, error) {
		var err error
		in, err = p.describeInstance(ctx, id)
		return in.State.Name, err
	}, []string{"shutting-down", "terminated", "stopping", "stopped"}, "running")
	if err != nil {
		return provisioning.Resource{}, err
	}
	attrs := map[string]string{"instance_id": id, "instance_type": in.InstanceType, "image_id": in.ImageID,
		"availability_zone": in.AZ, "private_ip": in.PrivateIP, "public_ip": in.PublicIP, "subnet_id": in.SubnetID, "region": p.c.Region}
	if len(groups) > 0 {
		attrs["security_groups"] = strings.Join(groups, ",")
	}
	if own != "" {
		attrs["security_group_id"] = own
	}
	return resource(id, provisioning.KindServer, attrs), nil
}

// placement is the server's subnet (its own, or that of the network it
// depends on) and its security groups: the spec's, its network's and, when
// the spec has rules of its own, the group made for them in the subnet's
// VPC (own).
func (p *Provider) placement(ctx context.Context, key, name string, s provisioning.ServerSpec, dependsOn []string,
	deps map[string]provisioning.Resource) (subnet string, groups []string, own string, err error) {
	subnet, vpc := s.Networking.Subnet, s.Networking.VPC
	groups = slices.Clone(s.Networking.SecurityGroups)
	for _, d := range dependsOn {
		r, ok := deps[d]
		if !ok || r.Kind != provisioning.KindNetwork || (subnet != "" && subnet != r.Attrs["subnet_id"]) {
			continue
		}
		subnet, vpc = r.Attrs["subnet_id"], r.Attrs["vpc_id"]
		if sg := r.Attrs["security_group_id"]; sg != "" && !slices.Contains(groups, sg) {
			groups = append(groups, sg)
		}
		break
	}
	n := s.Networking
	if len(n.Ingress)+len(n.Egress) == 0 {
		return subnet, groups, "", nil
	}
	if vpc == "" && subnet != "" {
		if vpc, err = p.subnetVPC(ctx, subnet); err != nil {
			return "", nil, "", err
		}
	}
	if vpc == "" {
		return "", nil, "", provisioning.Permanent(fmt.Errorf("spec.networking ingress and egress rules need the server in a VPC: " +
			"a network task in depends_on, or networking.subnet"))
	}
	own, err = p.ensureGroup(ctx, key, vpc, groupRules{name: name, desc: "rules of server " + name + " (Provisioning)",
		ingress: n.Ingress, egress: n.Egress}, keyTags(key, name, s.Tags))
	if err != nil {
		return "", nil, "", err
	}
	return subnet, append(groups, own), own, nil
}

func (p *Provider) subnetVPC(ctx context.Context, subnet string) (string, error) {
	params := url.Values{}
	list(params, "SubnetId", subnet)
	var out struct {
		VPCs []string `xml:"subnetSet>item>vpcId"`
	}
	if err := p.c.Call(ctx, "DescribeSubnets", params, &out); err != nil {
		return "", err
	}
	if len(out.VPCs) == 0 {
		return "", provisioning.Permanent(fmt.Errorf("subnet %s: no such subnet", subnet))
	}
	return out.VPCs[0], nil
}

// image is the spec's metadata.image_id, or the newest official image of
// its OS family and version.
func (p *Provider) image(ctx context.Context, s provisioning.ServerSpec) (image, error) {
	params := url.Values{}
	if id, _ := s.Metadata["image_id"].(string); id != "" {
		list(params, "ImageId", id)
	} else {
		list(params, "Owner", imageOwners[s.OS.Family])
		filter(params, 1, "name", fmt.Sprintf(imageNames[s.OS.Family], s.OS.Version))
		filter(params, 2, "state", "available")
	}
	var out struct {
		Images []image `xml:"imagesSet>item"`
	}
	if err := p.c.Call(ctx, "DescribeImages", params, &out); err != nil {
		return image{}, err
	}
	if len(out.Images) == 0 {
		return image{}, provisioning.Permanent(fmt.Errorf("no %s %s image in %s (set spec.metadata.image_id)", s.OS.Family, s.OS.Version, p.c.Region))
	}
	sort.Slice(out.Images, func(i, j int) bool { return out.Images[i].CreationDate > out.Images[j].CreationDate })
	return out.Images[0], nil
}

// placeNetwork puts the instance in subnet with its security groups; a
// public address needs the primary interface spelled out.
func placeNetwork(params url.Values, n provisioning.Networking, subnet string, groups []string) {
	if n.PublicIP {
		params.Set("NetworkInterface.1.DeviceIndex", "0")
		params.Set("NetworkInterface.1.AssociatePublicIpAddress", "true")
		if subnet != "" {
			params.Set("NetworkInterface.1.SubnetId", subnet)
		}
		list(params, "NetworkInterface.1.SecurityGroupId", groups...)
		return
	}
	if subnet != "" {
		params.Set("SubnetId", subnet)
	}
	if n.PrivateIP != "" {
		params.Set("PrivateIpAddress", n.PrivateIP)
	}
	list(params, "SecurityGroupId", groups...)
}

// disks sizes the root volume and adds the spec's volumes, deleted with
// the instance.
func disks(params url.Values, root string, s provisioning.ServerSpec) {
	if root == "" {
		root = "/dev/sda1"
	}
	bdm := func(n int, device string, size int, typ string) {
		b := "BlockDeviceMapping." + strconv.Itoa(n)
		params.Set(b+".DeviceName", device)
		params.Set(b+".Ebs.VolumeSize", strconv.Itoa(size))
		params.Set(b+".Ebs.VolumeType", typ)
		params.Set(b+".Ebs.DeleteOnTermination", "true")
	}
	bdm(1, root, s.DiskGB, "gp3")
	for i, v := range s.Storage {
		bdm(i+2, "/dev/sd"+string(rune('f'+i)), v.SizeGB, VolumeType(v.Type))
	}
}

// VolumeType is the EBS type of a spec's volume type.
func VolumeType(t string) string {
	switch t {
	case "hdd":
		return "st1"
	case "nvme":
		return "io2"
	}
	return "gp3"
}

func (p *Provider) describeInstance(ctx context.Context, id string) (instance, error) {
	params := url.Values{}
	list(params, "InstanceId", id)
	var out struct {
		Instances []instance `xml:"reservationSet>item>instancesSet>item"`
	}
	if err := p.c.Call(ctx, "DescribeInstances", params, &out); err != nil {
		return instance{}, err
	}
	if len(out.Instances) == 0 {
		return instance{}, &APIError{Status: 400, Code: "InvalidInstanceID.NotFound", Message: "no instance " + id}
	}
	return out.Instances[0], nil
}

// deleteServer terminates the instance, then deletes the security group
// made for the server's own rules.
func (p *Provider) deleteServer(ctx context.Context, r provisioning.Resource) error {
	if err := p.deleteInstance(ctx, r.ID); err != nil {
		return err
	}
	if sg := r.Attrs["security_group_id"]; sg != "" {
		return p.deleteGroup(ctx, sg)
	}
	return nil
}

// deleteInstance terminates id and waits until it is terminated.
func (p *Provider) deleteInstance(ctx context.Context, id string) error {
	params := url.Values{}
	list(params, "InstanceId", id)
	if err := p.c.Call(ctx, "TerminateInstances", params, nil); err != nil {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	err := p.wait(ctx, "instance "+id, func() (string, error) {
		in, err := p.describeInstance(ctx, id)
		if isNotFound(err) {
			return "terminated", nil
		}
		return in.State.Name, err
	}, nil, "terminated")
	return err
}
