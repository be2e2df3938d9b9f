package stacks

import (
	"cmp"
	"encoding/json"
	"path/filepath"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/jsii-runtime-go"

	"github.com/stratumiops/stratumiops/shared/platform/dbusers"
)

// SurrealUsersFunction is the platform stack's infra-only Lambda
// (functions/surreal-users, built by `make build` into
// dist/surreal-users/bootstrap): the custom resource that defines each
// function's SurrealDB user at deploy time.
const SurrealUsersFunction = "surreal-users"

// surrealUserSecret prefixes (after the stage's "stratum[/<stage>]/") the
// name of each function's SurrealDB secret; the function's name completes it.
const surrealUserSecret = "surreal/"

// newSurrealUsers defines, on every deploy that changes the list, each
// function's SurrealDB user (of its own database, role EDITOR) in the
// deployed SurrealDB, with the password CloudFormation generated into the
// function's secret. Its Lambda is the only principal that reads root's
// secret. A managed SurrealDB whose root password is not entered yet leaves
// the users pending; the operator then invokes the function (output
// SurrealUsersFunctionName).
func newSurrealUsers(stack awscdk.Stack, cfg Config, p *platform) {
	var users []dbusers.User
	for _, f := range cfg.Functions {
		if f.Database != "" {
			users = append(users, dbusers.User{Function: f.Name, User: f.SurrealUser(), Database: f.Database,
				SecretArn: *p.dbUsers[f.Name].SecretArn()})
		}
	}
	slices.SortFunc(users, func(a, b dbusers.User) int { return cmp.Compare(a.Function, b.Function) })
	raw, _ := json.Marshal(users) // tokens (the secrets' ARNs) stay strings, resolved by CloudFormation
	name := cfg.prefix() + SurrealUsersFunction
	props := &awslambda.FunctionProps{
		FunctionName: jsii.String(name),
		Description:  jsii.String("Custom resource: defines each function's SurrealDB user, of its own database only, as root"),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.DistDir, SurrealUsersFunction)), nil),
		MemorySize:   jsii.Number(256),
		Timeout:      awscdk.Duration_Minutes(jsii.Number(5)),
		Environment: &map[string]*string{
			dbusers.EnvURL:        jsii.String(cfg.SurrealURL),
			dbusers.EnvRootSecret: p.surrealSecret.SecretArn(),
			// names, not ARNs: the environment must stay under Lambda's 4 KB
			dbusers.EnvUsers:       jsii.String(dbusers.EncodeUsers(users)),
			dbusers.EnvUserSecrets: jsii.String(cfg.resourceName("/", surrealUserSecret)),
		},
		LogGroup: awslogs.NewLogGroup(stack, jsii.String("SurrealUsersLogs"), &awslogs.LogGroupProps{
			LogGroupName: jsii.String("/aws/lambda/" + name), Retention: awslogs.RetentionDays_ONE_MONTH,
			RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
		}),
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Tracing:       awslambda.Tracing_ACTIVE,
	}
	if cfg.LocalStack {
		// Seen from LocalStack's Lambda containers, the compose SurrealDB goes by its name.
		(*props.Environment)[dbusers.EnvURL] = jsii.String("ws://surrealdb:8000")
	}
	if p.clients != nil { // self-hosted: SurrealDB answers only inside the VPC
		props.Vpc = p.vpc
		props.VpcSubnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
		props.SecurityGroups = &[]awsec2.ISecurityGroup{p.clients}
	}
	var servers string
	if p.tlsCA != nil {
		servers = certificatesEnv(*props.Environment, p)
	}
	fn := awslambda.NewFunction(stack, jsii.String("SurrealUsers"), props)
	p.surrealSecret.GrantRead(fn, nil)
	for _, u := range users {
		p.dbUsers[u.Function].GrantRead(fn, nil)
	}
	if p.tlsCA != nil {
		newCertificates(stack, fn, servers, users, p)
	}
	cr := awscdk.NewCustomResource(stack, jsii.String("SurrealUserDefinitions"), &awscdk.CustomResourceProps{
		ServiceToken: fn.FunctionArn(),
		ResourceType: jsii.String("Custom::SurrealUsers"),
		// A change of users (or of the server) runs it again on the next deploy.
		Properties: &map[string]any{"Users": string(raw), "Url": cfg.SurrealURL},
	})
	if p.surrealService != nil {
		cr.Node().AddDependency(p.surrealService)
	}
	stat := func(st string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String(st)}
	}
	alarm(stack, "surreal-users-errors", fn.MetricErrors(stat("Sum")), 1, 1, false,
		"surreal-users failed: functions may not sign in to SurrealDB (see its log)", p.alarms)
	alarm(stack, "surreal-users-throttles", fn.MetricThrottles(stat("Sum")), 1, 1, false, "surreal-users was throttled", p.alarms)
	alarm(stack, "surreal-users-duration", fn.MetricDuration(stat("p99")), 4*60*1000, 1, false,
		"surreal-users ran close to its 5-minute timeout: SurrealDB slow to answer", p.alarms)
	awscdk.NewCfnOutput(stack, jsii.String("SurrealUsersStatus"), &awscdk.CfnOutputProps{Value: cr.GetAttString(jsii.String("Status")),
		Description: jsii.String("defined, or pending until root's SurrealDB password is in its secret (then invoke SurrealUsersFunctionName)")})
	awscdk.NewCfnOutput(stack, jsii.String("SurrealUsersFunctionName"), &awscdk.CfnOutputProps{Value: fn.FunctionName(),
		Description: jsii.String("aws lambda invoke --function-name <this> /dev/stdout: (re)defines every function's SurrealDB user")})
}

// certificatesEnv tells the surreal-users Lambda about the certificate step
// (self-hosted mode): the CA's secret, the servers' names and secrets, and
// the clients' secrets that get the CA's certificate (NATS's; each
// function's SurrealDB secret too, from SURREAL_USERS).
func certificatesEnv(env map[string]*string, p *platform) (servers string) {
	list := []dbusers.Server{
		{Name: "nats", SecretArn: *p.natsTLS.SecretArn(), Names: []string{"nats." + SelfHostedDomain}},
		{Name: "surrealdb", SecretArn: *p.surrealTLS.SecretArn(), Names: []string{"surrealdb." + SelfHostedDomain}},
	}
	rawServers, _ := json.Marshal(list)
	rawCopies, _ := json.Marshal([]string{*p.natsSecret.SecretArn()})
	env[dbusers.EnvCASecret] = p.tlsCA.SecretArn()
	env[dbusers.EnvServers] = jsii.String(string(rawServers))
	env[dbusers.EnvCACopies] = jsii.String(string(rawCopies))
	return string(rawServers)
}

// newCertificates runs the certificate step of fn (dbusers.Certifier) as
// the custom resource SelfHostedTls, before NATS and SurrealDB start: it
// makes the private CA and their certificates when missing or expiring,
// keeps them otherwise, and copies the CA's certificate into the clients'
// secrets (field "ca": NATS_CA and SURREAL_CA in the functions). fn is the
// only principal that writes these secrets or reads the CA's key.
func newCertificates(stack awscdk.Stack, fn awslambda.Function, servers string, users []dbusers.User, p *platform) {
	p.tlsCA.GrantRead(fn, nil)
	p.tlsCA.GrantWrite(fn)
	for _, s := range []awssecretsmanager.Secret{p.natsTLS, p.surrealTLS, p.natsSecret} {
		s.GrantRead(fn, nil)
		s.GrantWrite(fn)
	}
	for _, u := range users {
		p.dbUsers[u.Function].GrantWrite(fn)
	}
	cr := awscdk.NewCustomResource(stack, jsii.String("SelfHostedTls"), &awscdk.CustomResourceProps{
		ServiceToken: fn.FunctionArn(),
		ResourceType: jsii.String("Custom::SelfHostedTls"),
		// Runs on create and whenever the names or secrets change; an
		// invocation with {"step":"certs"} runs it by hand (renewal).
		Properties: &map[string]any{"Step": dbusers.StepCerts, "Servers": servers},
	})
	for _, svc := range p.dataServices {
		svc.Node().AddDependency(cr)
	}
}
