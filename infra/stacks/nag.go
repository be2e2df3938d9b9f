package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
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
