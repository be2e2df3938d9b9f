package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Nag runs cdk-nag's AwsSolutions checks on every stack of app: a finding
// that is not suppressed (see suppressions) is an error or warning
// annotation; the CDK tests fail on either.
func Nag(app awscdk.App) {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// suppressions are the AwsSolutions findings the design accepts, each with
// its reason; the wildcard ones name exactly the resources they cover.
var suppressions = []*cdknag.NagPackSuppression{
	{Id: jsii.String("AwsSolutions-APIG4"), Reason: jsii.String(
		"Every route authenticates in its function (API key or JWT checked against the ApiAuth secret, then Cedar; the vault checks Vault tokens), " +
			"which an API Gateway authorizer cannot do for Vault tokens and would only repeat for the others")},
	{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String(
		"AWS's managed policies for a Lambda function's own log writes and, in the VPC, its network interfaces"),
		AppliesTo: &[]any{
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
			"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole",
		}},
	{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(
		"lambda:InvokeFunction on the versions and aliases (<arn>:*) of exactly the function named in the catalog's Invokes, or of a consumer for the dispatcher"),
		AppliesTo: &[]any{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::(<[A-Za-z0-9]+\.Arn>|Stratum[A-Za-z]*:ExportsOutputFnGetAtt[A-Za-z0-9]+):\*$/`)}}},
	{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(
		"Resource * only for actions AWS defines no resource for: X-Ray PutTraceSegments/PutTelemetryRecords (tracing) and ecr:GetAuthorizationToken (the task's image pull)"),
		AppliesTo: &[]any{"Resource::*"}},
	{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(
		"vault-backup puts and deletes snapshots under its own prefix of the backup bucket (snapshots/*), and vault-audit " +
			"reads and writes its checkpoints under audit-checkpoints/*, and nowhere else"),
		AppliesTo: &[]any{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::.*VaultBackups[A-Za-z0-9]*.*\/(snapshots|audit-checkpoints)\/\*$/`)}}},
	{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(
		"A WebSocket pusher posts to the connections of its own WebSocket API's stage (POST @connections/<connection id>): the ids are made by API Gateway per connection"),
		AppliesTo: &[]any{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:execute-api:(<AWS::Region>|[a-z0-9-]+):(<AWS::AccountId>|[0-9]+):<WebSocketApi[A-Za-z0-9-]+>\/[a-z]+\/POST\/@connections\/\*$/`)}}},
	{Id: jsii.String("AwsSolutions-SMG4"), Reason: jsii.String(
		"Rotation is the README's procedure: the self-hosted SurrealDB password must change on the server first, managed-service credentials and API keys are issued by a person, " +
			"a function's own SurrealDB user is redefined from its secret by invoking surreal-users, the vault's init token serves once, " +
			"the self-hosted TLS certificates are issued and renewed before expiry by the certificate step (SelfHostedTls), " +
			"and the functions re-read secrets on cold start (the SurrealDB secret also every SECRETS_TTL and on a refused sign-in)")},
	{Id: jsii.String("AwsSolutions-SQS3"), Reason: jsii.String("This queue is itself the dead-letter queue of the scheduled functions")},
	{Id: jsii.String("AwsSolutions-S1"), Reason: jsii.String(
		"The vault backup bucket is written only by vault-backup under its prefix; CloudTrail data events, not a second bucket, are the record of access")},
	{Id: jsii.String("AwsSolutions-ECS2"), Reason: jsii.String(
		"Only settings are environment variables (NATS URL, function prefix, log level); credentials come from Secrets Manager as ECS secrets")},
}

func suppress(stack awscdk.Stack) {
	cdknag.NagSuppressions_AddStackSuppressions(stack, &suppressions, jsii.Bool(true))
}

// suppressDistribution accepts, for one distribution, what a public API and
// page need: no geo restriction, no access logs (API Gateway writes JSON
// access logs, WAF its own), and, off the edge, the cloudfront.net name with
// its default certificate and no WAF (-c domainName … hostedZoneId adds both).
func suppressDistribution(dist awscloudfront.Distribution, edged bool) {
	s := []*cdknag.NagPackSuppression{
		{Id: jsii.String("AwsSolutions-CFR1"), Reason: jsii.String("The APIs and page serve their users wherever they are; access is by credential, not by country")},
		{Id: jsii.String("AwsSolutions-CFR3"), Reason: jsii.String(
			"Requests are logged by the API stages (JSON access logs) and, at the edge, by the WAF; a CloudFront log bucket would repeat them")},
	}
	if !edged {
		s = append(s,
			&cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-CFR2"), Reason: jsii.String(
				"The WAF is the edge option (-c domainName=… -c hostedZoneId=…), whose WebACL lives in us-east-1; without it the API stages throttle")},
			&cdknag.NagPackSuppression{Id: jsii.String("AwsSolutions-CFR4"), Reason: jsii.String(
				"Without a domain the distribution answers on its cloudfront.net name, whose default certificate CloudFront fixes; the edge option sets TLS 1.2")})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(dist, &s, jsii.Bool(true))
}

// suppressBucketDeployment covers the CDK's own BucketDeployment function
// (a singleton in stack), which copies a page's files into its bucket.
func suppressBucketDeployment(stack awscdk.Stack) {
	for _, child := range *stack.Node().Children() {
		if !strings.HasPrefix(*child.Node().Id(), "Custom::CDKBucketDeployment") {
			continue
		}
		cdknag.NagSuppressions_AddResourceSuppressions(child, &[]*cdknag.NagPackSuppression{
			{Id: jsii.String("AwsSolutions-IAM4"), Reason: jsii.String("The CDK's BucketDeployment function writes its logs with the managed basic execution policy")},
			{Id: jsii.String("AwsSolutions-IAM5"), Reason: jsii.String(
				"The CDK's BucketDeployment function reads the page's asset and writes and prunes the page's bucket (objects *), and invalidates the distribution")},
			{Id: jsii.String("AwsSolutions-L1"), Reason: jsii.String("The CDK's BucketDeployment function: its runtime is the one the CDK version ships")},
		}, jsii.Bool(true))
	}
}
