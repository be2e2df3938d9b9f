package ec2_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	localec2 "github.com/stratumiops/stratumiops/localstack/ec2"
	"github.com/stratumiops/stratumiops/shared/provisioning"
	"github.com/stratumiops/stratumiops/shared/provisioning/ec2"
)

func network(t *testing.T, spec string) provisioning.PreparedTask {
	t.Helper()
	p, err := provisioning.Prepare(provisioning.Workflow{Name: "x", Environment: "staging", Defaults: provisioning.Defaults{Provider: "aws"},
		Tasks: []provisioning.Task{{ID: "net", Kind: "network", Spec: json.RawMessage(spec)}}})
	if err != nil {
		t.Fatal(err)
	}
	return p.Tasks[0]
}

// TestNetworkSecurityGroup: a network's ingress rules become one security
// group of its VPC, tagged with the step's key; a step run again finds it
// and its rules (EC2 answers InvalidPermission.Duplicate) and makes nothing
// twice; delete removes the group before the subnet and the VPC.
func TestNetworkSecurityGroup(t *testing.T) {
	p, srv := setup(t)
	net := network(t, `{"cidr":"10.30.0.0/16","ingress":[{"protocol":"tcp","from_port":22,"to_port":22,"cidr":"10.0.0.0/8"},
		{"protocol":"all","cidr":"10.30.0.0/16"}]}`)
	r, err := p.Create(ctx(t), "wf/net/1", net, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := p.Create(ctx(t), "wf/net/1", net, nil)
	if err != nil || again.Attrs["security_group_id"] != r.Attrs["security_group_id"] || again.ID != r.ID {
		t.Fatalf("second run: %+v %v (first %+v)", again, err, r)
	}
	st := srv.State()
	rules := st.SecurityGroups[r.Attrs["security_group_id"]]
	if len(st.SecurityGroups) != 1 || len(rules) != 2 || !slices.Contains(rules, "peer: 10.0.0.0/8, TCP, from port: 22, to port: 22, ALLOW") {
		t.Fatalf("groups %+v", st.SecurityGroups)
	}
	var dup int
	for _, c := range srv.Calls() {
		if c.Action == "CreateSecurityGroup" && c.Params.Get("VpcId") != r.ID {
			t.Fatalf("group made outside the network's VPC: %+v", c)
		}
		if c.Error == "InvalidPermission.Duplicate" {
			dup++
		}
	}
	if n := countActions(srv.Actions(), "CreateSecurityGroup"); n != 1 || dup != 2 {
		t.Fatalf("%d groups made, %d duplicate answers: %v", n, dup, srv.Actions())
	}
	if err := p.Delete(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	if st := srv.State(); len(st.SecurityGroups) != 0 || len(st.VPCs) != 0 || len(st.Subnets) != 0 {
		t.Fatalf("left after delete: %+v", st)
	}
	plain, err := p.Create(ctx(t), "wf/plain/1", network(t, `{"cidr":"10.40.0.0/16"}`), nil)
	if err != nil || plain.Attrs["security_group_id"] != "" {
		t.Fatalf("a network without rules: %+v %v", plain, err)
	}
}

func countActions(actions []string, a string) int {
	n := 0
	for _, x := range actions {
		if x == a {
			n++
		}
	}
	return n
}

// TestSecurityGroupWireFormat checks the local EC2's answers to the
// security group calls, errors included, through a signed raw client.
func TestSecurityGroupWireFormat(t *testing.T) {
	srv := localec2.New("eu-west-1")
	srv.AddKey("AKIDLOCAL", "secret")
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c := &ec2.Client{Endpoint: hs.URL, Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", "")}
	var vpc struct {
		ID string `xml:"vpc>vpcId"`
	}
	if err := c.Call(ctx(t), "CreateVpc", map[string][]string{"CidrBlock": {"10.1.0.0/16"}}, &vpc); err != nil {
		t.Fatal(err)
	}
	var sg struct {
		Return bool   `xml:"return"`
		ID     string `xml:"groupId"`
	}
	mk := map[string][]string{"GroupName": {"web"}, "GroupDescription": {"web tier"}, "VpcId": {vpc.ID}}
	if err := c.Call(ctx(t), "CreateSecurityGroup", mk, &sg); err != nil || !sg.Return || !strings.HasPrefix(sg.ID, "sg-") {
		t.Fatalf("create: %+v %v", sg, err)
	}
	if err := c.Call(ctx(t), "CreateSecurityGroup", mk, nil); ec2.Code(err) != "InvalidGroup.Duplicate" {
		t.Fatalf("same name again: %v", err)
	}
	rule := map[string][]string{"GroupId": {sg.ID}, "IpPermissions.1.IpProtocol": {"tcp"}, "IpPermissions.1.FromPort": {"443"},
		"IpPermissions.1.ToPort": {"443"}, "IpPermissions.1.IpRanges.1.CidrIp": {"0.0.0.0/0"}}
	if err := c.Call(ctx(t), "AuthorizeSecurityGroupIngress", rule, nil); err != nil {
		t.Fatal(err)
	}
	err := c.Call(ctx(t), "AuthorizeSecurityGroupIngress", rule, nil)
	if ec2.Code(err) != "InvalidPermission.Duplicate" || !strings.Contains(err.Error(), "from port: 443") {
		t.Fatalf("same rule again: %v", err)
	}
	rule["IpPermissions.1.IpProtocol"] = []string{"gre"}
	if err := c.Call(ctx(t), "AuthorizeSecurityGroupIngress", rule, nil); ec2.Code(err) != "InvalidParameterValue" {
		t.Fatalf("unknown protocol: %v", err)
	}
	if err := c.Call(ctx(t), "DeleteVpc", map[string][]string{"VpcId": {vpc.ID}}, nil); ec2.Code(err) != "DependencyViolation" {
		t.Fatalf("vpc with a group: %v", err)
	}
	var desc struct {
		Groups []struct {
			ID    string `xml:"groupId"`
			Perms []struct {
				Proto string `xml:"ipProtocol"`
				From  int    `xml:"fromPort"`
				CIDR  string `xml:"ipRanges>item>cidrIp"`
			} `xml:"ipPermissions>item"`
		} `xml:"securityGroupInfo>item"`
	}
	if err := c.Call(ctx(t), "DescribeSecurityGroups", map[string][]string{"GroupId.1": {sg.ID}}, &desc); err != nil ||
		len(desc.Groups) != 1 || len(desc.Groups[0].Perms) != 1 || desc.Groups[0].Perms[0].From != 443 || desc.Groups[0].Perms[0].CIDR != "0.0.0.0/0" {
		t.Fatalf("describe: %+v %v", desc, err)
	}
	if err := c.Call(ctx(t), "DeleteSecurityGroup", map[string][]string{"GroupId": {sg.ID}}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx(t), "DeleteSecurityGroup", map[string][]string{"GroupId": {sg.ID}}, nil); ec2.Code(err) != "InvalidGroup.NotFound" {
		t.Fatalf("delete twice: %v", err)
	}
	res, _ := http.Get(hs.URL + "/_stratum/state")
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `"security_groups":{}`) {
		t.Fatalf("state: %s", body)
	}
}

// TestServerSecurityGroups: a server placed in a network gets the
// network's security group, and one of its own for its own rules in the
// same VPC (RunInstances with SecurityGroupId.N); declared egress rules
// replace EC2's allow-all default. A step run again makes nothing twice;
// delete terminates the instance, then deletes the server's group, and
// leaves the network's to the network.
func TestServerSecurityGroups(t *testing.T) {
	p, srv := setup(t)
	w := provisioning.Workflow{Name: "x", Environment: "staging", Defaults: provisioning.Defaults{Provider: "aws"}, Tasks: []provisioning.Task{
		{ID: "net", Kind: "network", Spec: json.RawMessage(`{"cidr":"10.30.0.0/16","ingress":[{"protocol":"tcp","from_port":22,"to_port":22,"cidr":"10.0.0.0/8"}],
			"egress":[{"protocol":"tcp","from_port":443,"to_port":443,"cidr":"0.0.0.0/0"}]}`)},
		{ID: "web", Kind: "server", DependsOn: []string{"net"}, Spec: json.RawMessage(`{"os":{"family":"ubuntu","version":"24.04"},
			"networking":{"ingress":[{"protocol":"tcp","from_port":443,"to_port":443,"cidr":"0.0.0.0/0"}],"egress":[{"protocol":"all","cidr":"10.30.0.0/16"}]}}`)},
		{ID: "bare", Kind: "server", Spec: json.RawMessage(`{"os":{"family":"ubuntu","version":"24.04"},
			"networking":{"ingress":[{"protocol":"icmp","from_port":8,"to_port":0,"cidr":"10.0.0.0/8"}]}}`)}}}
	pw, err := provisioning.Prepare(w)
	if err != nil {
		t.Fatal(err)
	}
	net, err := p.Create(ctx(t), "wf/net/1", pw.Tasks[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	deps := map[string]provisioning.Resource{"net": net}
	web, err := p.Create(ctx(t), "wf/web/1", pw.Tasks[1], deps)
	if err != nil {
		t.Fatal(err)
	}
	netSG, own := net.Attrs["security_group_id"], web.Attrs["security_group_id"]
	if netSG == "" || own == "" || own == netSG || web.Attrs["security_groups"] != netSG+","+own {
		t.Fatalf("groups: network %+v server %+v", net.Attrs, web.Attrs)
	}
	again, err := p.Create(ctx(t), "wf/web/1", pw.Tasks[1], deps) // a redelivered step
	if err != nil || again.ID != web.ID || again.Attrs["security_group_id"] != own {
		t.Fatalf("again: %+v %v, want %+v", again, err, web)
	}
	st := srv.State()
	if g := st.InstanceGroups[web.ID]; !slices.Equal(g, []string{netSG, own}) || len(st.Instances) != 1 || len(st.SecurityGroups) != 2 {
		t.Fatalf("state: %+v", st)
	}
	for id, want := range map[string][2][]string{
		netSG: {{"peer: 10.0.0.0/8, TCP, from port: 22, to port: 22, ALLOW"}, {"peer: 0.0.0.0/0, TCP, from port: 443, to port: 443, ALLOW"}},
		own:   {{"peer: 0.0.0.0/0, TCP, from port: 443, to port: 443, ALLOW"}, {"peer: 10.30.0.0/16, ALL, ALLOW"}},
	} {
		if !slices.Equal(st.SecurityGroups[id], want[0]) || !slices.Equal(st.SecurityGroupsEgress[id], want[1]) {
			t.Fatalf("group %s: in %v out %v, want %v", id, st.SecurityGroups[id], st.SecurityGroupsEgress[id], want)
		}
	}
	for _, c := range srv.Calls() {
		switch {
		case c.Action == "CreateSecurityGroup" && c.Params.Get("VpcId") != net.ID:
			t.Fatalf("group outside the network's VPC: %+v", c)
		case c.Action == "RunInstances" && (c.Params.Get("SecurityGroupId.1") != netSG || c.Params.Get("SecurityGroupId.2") != own):
			t.Fatalf("RunInstances: %v", c.Params)
		case c.Error != "" && c.Error != "InvalidPermission.Duplicate" && c.Error != "InvalidPermission.NotFound":
			t.Fatalf("call failed: %+v", c)
		}
	}
	if n := countActions(srv.Actions(), "CreateSecurityGroup"); n != 2 {
		t.Fatalf("%d groups made: %v", n, srv.Actions())
	}
	if _, err := p.Create(ctx(t), "wf/bare/1", pw.Tasks[2], nil); !provisioning.IsPermanent(err) || !strings.Contains(err.Error(), "VPC") {
		t.Fatalf("rules without a VPC: %v", err)
	}
	if err := p.Delete(ctx(t), web); err != nil {
		t.Fatal(err)
	}
	if st := srv.State(); st.Instances[web.ID] != "terminated" || st.SecurityGroups[own] != nil || st.SecurityGroups[netSG] == nil {
		t.Fatalf("after deleting the server: %+v", st)
	}
	if err := p.Delete(ctx(t), net); err != nil {
		t.Fatal(err)
	}
	if st := srv.State(); len(st.SecurityGroups) != 0 || len(st.VPCs) != 0 {
		t.Fatalf("after deleting the network: %+v", st)
	}
}

// TestSecurityGroupEgressAndLaunchWireFormat checks the local EC2's egress
// calls and RunInstances with SecurityGroupId.N, errors included.
func TestSecurityGroupEgressAndLaunchWireFormat(t *testing.T) {
	srv := localec2.New("eu-west-1")
	srv.AddKey("AKIDLOCAL", "secret")
	hs := httptest.NewServer(srv)
	defer hs.Close()
	c := &ec2.Client{Endpoint: hs.URL, Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", "")}
	call := func(action string, params map[string][]string, out any) error {
		return c.Call(ctx(t), action, params, out)
	}
	var vpcA, vpcB struct {
		ID string `xml:"vpc>vpcId"`
	}
	var subnet struct {
		ID string `xml:"subnet>subnetId"`
	}
	if call("CreateVpc", map[string][]string{"CidrBlock": {"10.1.0.0/16"}}, &vpcA) != nil || call("CreateVpc", map[string][]string{"CidrBlock": {"10.2.0.0/16"}}, &vpcB) != nil ||
		call("CreateSubnet", map[string][]string{"VpcId": {vpcA.ID}, "CidrBlock": {"10.1.0.0/24"}}, &subnet) != nil {
		t.Fatal("vpcs and subnet")
	}
	var sgA, sgB struct {
		ID string `xml:"groupId"`
	}
	if call("CreateSecurityGroup", map[string][]string{"GroupName": {"a"}, "GroupDescription": {"a"}, "VpcId": {vpcA.ID}}, &sgA) != nil ||
		call("CreateSecurityGroup", map[string][]string{"GroupName": {"b"}, "GroupDescription": {"b"}, "VpcId": {vpcB.ID}}, &sgB) != nil {
		t.Fatal("groups")
	}
	rule := func(group, proto, cidr string) map[string][]string {
		return map[string][]string{"GroupId": {group}, "IpPermissions.1.IpProtocol": {proto}, "IpPermissions.1.IpRanges.1.CidrIp": {cidr}}
	}
	if err := call("AuthorizeSecurityGroupEgress", rule(sgA.ID, "-1", "0.0.0.0/0"), nil); ec2.Code(err) != "InvalidPermission.Duplicate" {
		t.Fatalf("the default egress rule again: %v", err)
	}
	if err := call("AuthorizeSecurityGroupEgress", rule(sgA.ID, "-1", "10.0.0.0/8"), nil); err != nil {
		t.Fatal(err)
	}
	if err := call("RevokeSecurityGroupEgress", rule(sgA.ID, "-1", "0.0.0.0/0"), nil); err != nil {
		t.Fatal(err)
	}
	if err := call("RevokeSecurityGroupEgress", rule(sgA.ID, "-1", "0.0.0.0/0"), nil); ec2.Code(err) != "InvalidPermission.NotFound" {
		t.Fatalf("revoke twice: %v", err)
	}
	if err := call("AuthorizeSecurityGroupEgress", rule("sg-0000000000000000", "-1", "10.0.0.0/8"), nil); ec2.Code(err) != "InvalidGroup.NotFound" {
		t.Fatalf("unknown group: %v", err)
	}
	var desc struct {
		Out []string `xml:"securityGroupInfo>item>ipPermissionsEgress>item>ipRanges>item>cidrIp"`
	}
	if err := call("DescribeSecurityGroups", map[string][]string{"GroupId.1": {sgA.ID}}, &desc); err != nil || !slices.Equal(desc.Out, []string{"10.0.0.0/8"}) {
		t.Fatalf("egress described: %+v %v", desc, err)
	}
	launch := func(groups ...string) (string, error) {
		p := map[string][]string{"ImageId": {"ami-0a1b2c3d4e5f60002"}, "InstanceType": {"t3.micro"}, "MinCount": {"1"}, "MaxCount": {"1"}, "SubnetId": {subnet.ID}}
		for i, g := range groups {
			p["SecurityGroupId."+string(rune('1'+i))] = []string{g}
		}
		var out struct {
			Groups []string `xml:"instancesSet>item>groupSet>item>groupId"`
			Names  []string `xml:"instancesSet>item>groupSet>item>groupName"`
		}
		err := call("RunInstances", p, &out)
		return strings.Join(out.Groups, ",") + "/" + strings.Join(out.Names, ","), err
	}
	for groups, code := range map[string]string{"sg-0000000000000000": "InvalidGroup.NotFound", "web": "InvalidGroupId.Malformed", sgB.ID: "InvalidParameter"} {
		if _, err := launch(groups); ec2.Code(err) != code {
			t.Fatalf("RunInstances with %s: %v, want %s", groups, err, code)
		}
	}
	if got, err := launch(sgA.ID); err != nil || got != sgA.ID+"/a" {
		t.Fatalf("RunInstances: %q %v", got, err)
	}
	if err := call("DeleteSecurityGroup", map[string][]string{"GroupId": {sgA.ID}}, nil); ec2.Code(err) != "DependencyViolation" {
		t.Fatalf("group of a running instance: %v", err)
	}
}
