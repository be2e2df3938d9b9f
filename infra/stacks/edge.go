package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awswafv2"
	"github.com/aws/jsii-runtime-go"
)

// EdgeRegion is where CloudFront takes its certificates and WebACLs from.
const EdgeRegion = "us-east-1"

// edge is what CloudFront needs from us-east-1: a certificate for
// *.<domainName>, validated in the hosted zone, and the WebACL. The system
// stacks read them through the CDK's cross-region references (SSM
// parameters written by the edge stack in their region).
type edge struct {
	stack       awscdk.Stack
	certificate awscertificatemanager.Certificate
	webACL      awswafv2.CfnWebACL
}

// edge reports whether the APIs go behind CloudFront with a WAF at the
// deployment's own domain (-c domainName=… -c hostedZoneId=…).
func (c Config) edge() bool { return c.DomainName != "" && c.HostedZoneID != "" && !c.LocalStack }

func newEdge(app awscdk.App, cfg Config) *edge {
	stack := awscdk.NewStack(app, jsii.String(cfg.stackName("Edge")), &awscdk.StackProps{
		Env:                   &awscdk.Environment{Account: cfg.Env.Account, Region: jsii.String(EdgeRegion)},
		CrossRegionReferences: jsii.Bool(true),
		Description:           jsii.String("StratumIOps at the edge: CloudFront's certificate and WAF WebACL (us-east-1)"),
	})
	zone := awsroute53.HostedZone_FromHostedZoneAttributes(stack, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
		HostedZoneId: jsii.String(cfg.HostedZoneID), ZoneName: jsii.String(cfg.DomainName)})
	cert := awscertificatemanager.NewCertificate(stack, jsii.String("Certificate"), &awscertificatemanager.CertificateProps{
		DomainName: jsii.String("*." + cfg.DomainName),
		Validation: awscertificatemanager.CertificateValidation_FromDns(zone),
	})
	e := &edge{stack: stack, certificate: cert, webACL: newWebACL(stack, cfg)}
	awscdk.NewCfnOutput(stack, jsii.String("WebAclArn"), &awscdk.CfnOutputProps{Value: e.webACL.AttrArn()})
	return e
}

// newWebACL blocks what AWS's common and known-bad-input rule groups match
// and any address above WafRateLimit requests per 5 minutes, and logs what
// it blocks. Request bodies over 8 KB are legitimate here (vault secrets,
// imports), so the common set's body size rule only counts.
func newWebACL(stack awscdk.Stack, cfg Config) awswafv2.CfnWebACL {
	visibility := func(name string) *awswafv2.CfnWebACL_VisibilityConfigProperty {
		return &awswafv2.CfnWebACL_VisibilityConfigProperty{CloudWatchMetricsEnabled: jsii.Bool(true),
			MetricName: jsii.String(name), SampledRequestsEnabled: jsii.Bool(true)}
	}
	managed := func(priority float64, name string, counted ...string) *awswafv2.CfnWebACL_RuleProperty {
		var overrides []*awswafv2.CfnWebACL_RuleActionOverrideProperty
		for _, rule := range counted {
			overrides = append(overrides, &awswafv2.CfnWebACL_RuleActionOverrideProperty{Name: jsii.String(rule),
				ActionToUse: &awswafv2.CfnWebACL_RuleActionProperty{Count: map[string]any{}}})
		}
		group := &awswafv2.CfnWebACL_ManagedRuleGroupStatementProperty{VendorName: jsii.String("AWS"), Name: jsii.String(name)}
		if len(overrides) > 0 {
			group.RuleActionOverrides = overrides
		}
		return &awswafv2.CfnWebACL_RuleProperty{Name: jsii.String(name), Priority: jsii.Number(priority),
			Statement:        &awswafv2.CfnWebACL_StatementProperty{ManagedRuleGroupStatement: group},
			OverrideAction:   &awswafv2.CfnWebACL_OverrideActionProperty{None: map[string]any{}},
			VisibilityConfig: visibility(name)}
	}
	acl := awswafv2.NewCfnWebACL(stack, jsii.String("WebAcl"), &awswafv2.CfnWebACLProps{
		Name:             jsii.String(cfg.resourceName("-", "edge")),
		Scope:            jsii.String("CLOUDFRONT"),
		DefaultAction:    &awswafv2.CfnWebACL_DefaultActionProperty{Allow: map[string]any{}},
		VisibilityConfig: visibility(cfg.resourceName("-", "edge")),
		Rules: []any{
			managed(0, "AWSManagedRulesCommonRuleSet", "SizeRestrictions_BODY"),
			managed(1, "AWSManagedRulesKnownBadInputsRuleSet"),
			&awswafv2.CfnWebACL_RuleProperty{Name: jsii.String("RatePerIp"), Priority: jsii.Number(2),
				Statement: &awswafv2.CfnWebACL_StatementProperty{RateBasedStatement: &awswafv2.CfnWebACL_RateBasedStatementProperty{
					AggregateKeyType: jsii.String("IP"), Limit: jsii.Number(cmpOr(cfg.WafRateLimit, 2000))}},
				Action:           &awswafv2.CfnWebACL_RuleActionProperty{Block: map[string]any{}},
				VisibilityConfig: visibility("RatePerIp")},
		},
	})
	// WAF logs only to a log group whose name starts with aws-waf-logs-.
	name := "aws-waf-logs-" + cfg.resourceName("-", "edge")
	awslogs.NewLogGroup(stack, jsii.String("WafLogs"), &awslogs.LogGroupProps{LogGroupName: jsii.String(name),
		Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY})
	logging := awswafv2.NewCfnLoggingConfiguration(stack, jsii.String("WafLogging"), &awswafv2.CfnLoggingConfigurationProps{
		ResourceArn: acl.AttrArn(),
		LogDestinationConfigs: &[]any{stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("logs"), Resource: jsii.String("log-group"),
			ResourceName: jsii.String(name), ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME})},
	})
	logging.Node().AddDependency(stack.Node().FindChild(jsii.String("WafLogs")))
	return acl
}
