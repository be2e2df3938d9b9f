package ec2

import (
	"context"
	"net/url"
	"strconv"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// ensureGroup makes the network's security group in vpc with its ingress
// rules, once: a step run again finds the group by its key tag, and a rule
// it authorized before answers InvalidPermission.Duplicate, which is done.
func (p *Provider) ensureGroup(ctx context.Context, key, name, vpc string, rules []provisioning.Rule, tagSet map[string]string) (string, error) {
	params := url.Values{}
	filter(params, 1, "tag:"+KeyTag, key)
	filter(params, 2, "vpc-id", vpc)
	var found struct {
		IDs []string `xml:"securityGroupInfo>item>groupId"`
	}
	if err := p.c.Call(ctx, "DescribeSecurityGroups", params, &found); err != nil {
		return "", err
	}
	id := ""
	if len(found.IDs) > 0 {
		id = found.IDs[0]
	} else {
		params := url.Values{"GroupName": {"stratum-" + name}, "GroupDescription": {"ingress of network " + name + " (Provisioning)"},
			"VpcId": {vpc}}
		tags(params, "security-group", tagSet)
		var out struct {
			ID string `xml:"groupId"`
		}
		if err := p.c.Call(ctx, "CreateSecurityGroup", params, &out); err != nil {
			return "", err
		}
		id = out.ID
	}
	for _, r := range rules {
		err := p.c.Call(ctx, "AuthorizeSecurityGroupIngress", ruleParams(id, r), nil)
		if err != nil && Code(err) != "InvalidPermission.Duplicate" {
			return "", err
		}
	}
	return id, nil
}

// ruleParams asks for one rule, one call each, so that a rule authorized
// by an earlier run does not make the others fail with it.
func ruleParams(group string, r provisioning.Rule) url.Values {
	p := url.Values{"GroupId": {group}, "IpPermissions.1.IpRanges.1.CidrIp": {r.CIDR}}
	if r.Protocol == "all" {
		p.Set("IpPermissions.1.IpProtocol", "-1")
		return p
	}
	p.Set("IpPermissions.1.IpProtocol", r.Protocol)
	p.Set("IpPermissions.1.FromPort", strconv.Itoa(r.FromPort))
	p.Set("IpPermissions.1.ToPort", strconv.Itoa(r.ToPort))
	return p
}
