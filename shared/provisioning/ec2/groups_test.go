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
