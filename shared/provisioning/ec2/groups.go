package ec2

import (
	"context"
	"net/url"
	"slices"
	"strconv"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// groupRules are what a security group made by a step lets in and out.
type groupRules struct {
	name, desc      string
	ingress, egress []provisioning.Rule
}

// allowAllOut is the egress rule EC2 gives every new security group.
var allowAllOut = provisioning.Rule{Protocol: "all", CIDR: "0.0.0.0/0"}

// ensureGroup makes a security group in vpc with the rules, once: a step
// run again finds the group by its key tag, a rule it authorized before
// answers InvalidPermission.Duplicate and a default it revoked before
// InvalidPermission.NotFound, both done. Declared egress rules replace the
// default that lets everything out.
func (p *Provider) ensureGroup(ctx context.Context, key, vpc string, g groupRules, tagSet map[string]string) (string, error) {
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
		params := url.Values{"GroupName": {"stratum-" + g.name}, "GroupDescription": {g.desc}, "VpcId": {vpc}}
		tags(params, "security-group", tagSet)
		var out struct {
			ID string `xml:"groupId"`
		}
		if err := p.c.Call(ctx, "CreateSecurityGroup", params, &out); err != nil {
			return "", err
		}
		id = out.ID
	}
	for _, side := range []struct {
		action string
		rules  []provisioning.Rule
	}{{"AuthorizeSecurityGroupIngress", g.ingress}, {"AuthorizeSecurityGroupEgress", g.egress}} {
		for _, r := range side.rules {
			err := p.c.Call(ctx, side.action, ruleParams(id, r), nil)
			if err != nil && Code(err) != "InvalidPermission.Duplicate" {
				return "", err
			}
		}
	}
	if len(g.egress) > 0 && !slices.Contains(g.egress, allowAllOut) {
		err := p.c.Call(ctx, "RevokeSecurityGroupEgress", ruleParams(id, allowAllOut), nil)
		if err != nil && Code(err) != "InvalidPermission.NotFound" {
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

// deleteGroup deletes a security group; EC2 answers DependencyViolation
// while an instance in it is still shutting down, so it is asked again
// until ctx ends. A group that is gone already is fine.
func (p *Provider) deleteGroup(ctx context.Context, id string) error {
	return p.deleteRetrying(ctx, "DeleteSecurityGroup", "GroupId", id)
}

func (p *Provider) deleteRetrying(ctx context.Context, action, param, id string) error {
	return p.wait(ctx, action+" "+id, func() (string, error) {
		err := p.c.Call(ctx, action, url.Values{param: {id}}, nil)
		if err == nil || isNotFound(err) {
			return "deleted", nil
		}
		return "", err
	}, nil, "deleted")
}
