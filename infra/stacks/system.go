package stacks

import (
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

func newSystem(app awscdk.App, cfg Config, sys catalog.System, fns []catalog.Function, p *platform,
	all map[string]awslambda.Function, e *edge) awscdk.Stack {
	stack := awscdk.NewStack(app, jsii.String(cfg.stackName(title(sys.Name))), &awscdk.StackProps{Env: cfg.Env,
		Description: jsii.String("StratumIOps " + sys.Name + ": its HTTP API and functions"),
		// The edge's certificate and WebACL come from us-east-1.
		CrossRegionReferences: jsii.Bool(e != nil)})
	var api awsapigatewayv2.HttpApi
	// Scheduled invocations that fail land here: failed deliveries (EventBridge)
	// and failed runs (the function's async invoke config). The queue lives in
	// the system's stack: EventBridge adds a queue policy naming each rule, which
	// from the platform stack would make the two stacks depend on each other.
	var deadLetters awssqs.Queue
	for _, f := range fns {
		fn := newFunction(stack, cfg, f, p)
		all[f.Name] = fn
		if f.Kind == catalog.HTTP {
			if api == nil {
				api = newAPI(stack, cfg, sys)
			}
			addRoutes(api, f, fn)
		}
		if f.Schedule != "" {
			if deadLetters == nil {
				deadLetters = awssqs.NewQueue(stack, jsii.String("ScheduleDeadLetters"), &awssqs.QueueProps{
					RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
					Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
					EnforceSSL:      jsii.Bool(true),
				})
			}
			schedule(stack, f, fn, deadLetters)
		}
	}
	// Invoke grants: exactly the functions each one declares.
	for _, f := range fns {
		for _, target := range f.Invokes {
			all[target].GrantInvoke(all[f.Name])
		}
	}
	var sockets []*webSocket
	// LocalStack: none (its WebSocket APIs and @connections endpoints are
	// not AWS's; the devstack serves the live board instead).
	for _, ws := range webSocketsOf(cfg, sys.Name) {
		w := newWebSocket(stack, cfg, ws, all)
		grantPush(stack, w, fns, all)
		watchWebSocket(stack, w, p.alarms)
		sockets = append(sockets, w)
	}
	if api != nil {
		awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
			Value:       api.ApiEndpoint(),
			Description: jsii.String("Base URL of the " + sys.Name + " API"),
			ExportName:  jsii.String(cfg.resourceName("-", sys.Name+"-api-url")),
		})
		if cfg.CertificateArn != "" {
			customDomain(stack, cfg, sys, api)
		}
		if needsDistribution(cfg, sys.Name) {
			newDistribution(stack, cfg, sys, api, sockets, e)
		}
	}
	watchSystem(stack, cfg, sys, fns, all, api, deadLetters, p.alarms)
	return stack
}

// schedule runs fn on f's schedule. A failed delivery is retried by
// EventBridge, then dead-lettered; a run that fails is not retried (a retry
// would overlap the next run) and goes to the same queue, as does an event
// that waited longer than one period.
func schedule(stack awscdk.Stack, f catalog.Function, fn awslambda.Function, deadLetters awssqs.Queue) {
	rule := awsevents.NewRule(stack, jsii.String(f.Name+"-schedule"), &awsevents.RuleProps{
		Schedule:    awsevents.Schedule_Expression(jsii.String(f.Schedule)),
		Description: jsii.String("Runs " + f.Name + " " + f.Schedule),
	})
	rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
		DeadLetterQueue: deadLetters,
		RetryAttempts:   jsii.Number(2),
	}))
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		RetryAttempts: jsii.Number(0),
		MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(maxEventAge(f.Schedule).Seconds())),
		OnFailure:     awslambdadestinations.NewSqsDestination(deadLetters),
	})
}

var ratePattern = regexp.MustCompile(`^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$`)

// maxEventAge is how long a scheduled event may wait for its run: one period,
// within Lambda's 60 s – 6 h (cron: 60 s).
func maxEventAge(expr string) time.Duration {
	m := ratePattern.FindStringSubmatch(expr)
	if m == nil {
		return time.Minute
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"minute": time.Minute, "hour": time.Hour, "day": 24 * time.Hour}[strings.TrimSuffix(m[2], "s")]
	return min(max(time.Duration(n)*unit, time.Minute), 6*time.Hour)
}

// newAPI is a system's HTTP API: default-route throttling and JSON access logs on its stage.
func newAPI(stack awscdk.Stack, cfg Config, sys catalog.System) awsapigatewayv2.HttpApi {
	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
		ApiName:     jsii.String(cfg.resourceName("-", sys.Name)),
		Description: jsii.String("StratumIOps " + sys.Name + " API"),
	})
	logs := awslogs.NewLogGroup(stack, jsii.String("ApiAccessLogs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stage := api.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	stage.SetDefaultRouteSettings(&awsapigatewayv2.CfnStage_RouteSettingsProperty{
		ThrottlingRateLimit:    jsii.Number(cmpOr(cfg.ThrottleRate, 100)),
		ThrottlingBurstLimit:   jsii.Number(cmpOr(cfg.ThrottleBurst, 200)),
		DetailedMetricsEnabled: jsii.Bool(false),
	})
	stage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: logs.LogGroupArn(),
		Format:         jsii.String(accessLogFormat),
	})
	return api
}

// accessLogFormat is one JSON object per request.
const accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime",` +
	`"method":"$context.httpMethod","path":"$context.path","routeKey":"$context.routeKey","status":"$context.status",` +
	`"protocol":"$context.protocol","responseLength":"$context.responseLength","latency":"$context.responseLatency",` +
	`"integrationLatency":"$context.integrationLatency","integrationError":"$context.integrationErrorMessage"}`

func cmpOr(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func addRoutes(api awsapigatewayv2.HttpApi, f catalog.Function, fn awslambda.Function) {
	integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(f.Name+"-integration"), fn,
		&awsapigatewayv2integrations.HttpLambdaIntegrationProps{
			PayloadFormatVersion: awsapigatewayv2.PayloadFormatVersion_VERSION_2_0(),
		})
	byPath := map[string][]awsapigatewayv2.HttpMethod{}
	var paths []string
	for _, r := range f.Routes {
		if _, ok := byPath[r.Path]; !ok {
			paths = append(paths, r.Path)
		}
		if m := httpMethod(r.Method); !slices.Contains(byPath[r.Path], m) {
			byPath[r.Path] = append(byPath[r.Path], m)
		}
	}
	for _, path := range paths {
		methods := byPath[path]
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{Path: jsii.String(path), Methods: &methods, Integration: integration})
	}
}

// customDomain serves the API at <system>.<DomainName> (point a CNAME at the
// RegionalDomainName output), so clients keep their address when the API is rebuilt.
func customDomain(stack awscdk.Stack, cfg Config, sys catalog.System, api awsapigatewayv2.HttpApi) {
	name := apiHost(cfg, sys)
	domain := awsapigatewayv2.NewDomainName(stack, jsii.String("Domain"), &awsapigatewayv2.DomainNameProps{
		DomainName:  jsii.String(name),
		Certificate: awscertificatemanager.Certificate_FromCertificateArn(stack, jsii.String("Certificate"), jsii.String(cfg.CertificateArn)),
	})
	awsapigatewayv2.NewApiMapping(stack, jsii.String("DomainMapping"), &awsapigatewayv2.ApiMappingProps{Api: api, DomainName: domain})
	awscdk.NewCfnOutput(stack, jsii.String("ApiDomain"), &awscdk.CfnOutputProps{Value: jsii.String("https://" + name),
		Description: jsii.String("Stable URL of the " + sys.Name + " API; CNAME it to RegionalDomainName")})
	awscdk.NewCfnOutput(stack, jsii.String("RegionalDomainName"), &awscdk.CfnOutputProps{Value: domain.RegionalDomainName()})
}

func newFunction(stack awscdk.Stack, cfg Config, f catalog.Function, p *platform) awslambda.Function {
	env := map[string]*string{"STRATUM_FUNCTION_PREFIX": jsii.String(cfg.prefix())}
	for k, v := range f.Environment() {
		if v != "" {
			env[k] = jsii.String(v)
		}
	}
	if cfg.LocalStack {
		env["LAMBDA_ENDPOINT"] = jsii.String("http://localhost.localstack.cloud:4566")
	}
	logs := awslogs.NewLogGroup(stack, jsii.String(f.Name+"-logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/lambda/" + cfg.prefix() + f.Name),
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	props := &awslambda.FunctionProps{
		FunctionName:  jsii.String(cfg.prefix() + f.Name),
		Description:   jsii.String(f.Description),
		Runtime:       awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:  awslambda.Architecture_ARM_64(),
		Handler:       jsii.String("bootstrap"),
		Code:          awslambda.Code_FromAsset(jsii.String(filepath.Join(cfg.DistDir, f.Name)), nil),
		MemorySize:    jsii.Number(float64(f.MemoryMB)),
		Timeout:       awscdk.Duration_Seconds(jsii.Number(f.Timeout.Seconds())),
		Environment:   &env,
		LogGroup:      logs,
		LoggingFormat: awslambda.LoggingFormat_JSON,
		Tracing:       awslambda.Tracing_ACTIVE,
	}
	if f.Concurrency > 0 && !cfg.NoReservedConcurrency {
		props.ReservedConcurrentExecutions = jsii.Number(float64(f.Concurrency))
	}
	if p.clients != nil && (f.Database != "" || f.Bus) {
		// Self-hosted NATS and SurrealDB answer only inside the VPC.
		props.Vpc = p.vpc
		props.VpcSubnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
		props.SecurityGroups = &[]awsec2.ISecurityGroup{p.clients}
	}
	var fn awslambda.Function
	if f.Image {
		fn = newImageFunction(stack, cfg, f, props)
	} else {
		fn = awslambda.NewFunction(stack, jsii.String(f.Name), props)
	}
	grantPlatform(fn, cfg, f, p)
	return fn
}

// newImageFunction deploys a catalog Image function as a container image
// built from dist/<function>/ (its bootstrap and the Dockerfile `stratum
// build` writes) for arm64, with the zip functions' settings (props): for
// a binary too large for a zip's limit (typedialog-contract links CUE).
func newImageFunction(stack awscdk.Stack, cfg Config, f catalog.Function, props *awslambda.FunctionProps) awslambda.DockerImageFunction {
	code := awslambda.DockerImageCode_FromImageAsset(jsii.String(filepath.Join(cfg.DistDir, f.Name)), &awslambda.AssetImageCodeProps{
		Platform: awsecrassets.Platform_LINUX_ARM64(), // an x86 host still builds the arm64 image Lambda runs
	})
	return awslambda.NewDockerImageFunction(stack, jsii.String(f.Name), &awslambda.DockerImageFunctionProps{
		Code: code, Architecture: props.Architecture,
		FunctionName: props.FunctionName, Description: props.Description,
		MemorySize: props.MemorySize, Timeout: props.Timeout, Environment: props.Environment,
		LogGroup: props.LogGroup, LoggingFormat: props.LoggingFormat, Tracing: props.Tracing,
		ReservedConcurrentExecutions: props.ReservedConcurrentExecutions,
		Vpc:                          props.Vpc, VpcSubnets: props.VpcSubnets, SecurityGroups: props.SecurityGroups,
	})
}

// grantPlatform gives fn the platform resources its catalog entry asks for, and nothing else.
func grantPlatform(fn awslambda.Function, cfg Config, f catalog.Function, p *platform) {
	if f.Database != "" {
		fn.AddEnvironment(jsii.String("SURREAL_URL"), jsii.String(cfg.SurrealURL), nil)
		// Its own user, of its own database: root's secret is no function's.
		user := p.dbUsers[f.Name]
		fn.AddEnvironment(jsii.String("SURREAL_SECRET_ARN"), user.SecretArn(), nil)
		user.GrantRead(fn, nil)
	}
	if f.Bus {
		fn.AddEnvironment(jsii.String("NATS_URL"), jsii.String(cfg.NATSURL), nil)
		fn.AddEnvironment(jsii.String("NATS_SECRET_ARN"), p.natsSecret.SecretArn(), nil)
		p.natsSecret.GrantRead(fn, nil)
	}
	if f.Auth {
		fn.AddEnvironment(jsii.String("API_AUTH_SECRET_ARN"), p.authSecret.SecretArn(), nil)
		p.authSecret.GrantRead(fn, nil)
	}
	for _, system := range f.Calls {
		fn.AddEnvironment(jsii.String(catalog.ClientVar(system, "CLIENT_SECRET_ARN")), p.clientSecrets[system].SecretArn(), nil)
		p.clientSecrets[system].GrantRead(fn, nil)
	}
	if auth := p.vaultAuth[f.Name]; auth != nil {
		fn.AddEnvironment(jsii.String("VAULT_AUTH_SECRET_ARN"), auth.SecretArn(), nil)
		auth.GrantRead(fn, nil)
	}
	if f.KMS {
		fn.AddEnvironment(jsii.String("VAULT_UNSEAL_KEY_ARN"), p.unsealKey.KeyArn(), nil)
		grantUnseal(fn, p.unsealKey)
	}
	if f.SecretsKey {
		fn.AddEnvironment(jsii.String("SECRETS_KMS_KEY"), p.secretsKey.KeyArn(), nil)
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("kms:Encrypt", "kms:Decrypt"),
			Resources: jsii.Strings(*p.secretsKey.KeyArn()),
			// shared/vapora/llm: each provider's API key is sealed under this purpose.
			Conditions: &map[string]any{"StringEquals": map[string]any{"kms:EncryptionContext:purpose": "vapora-llm-provider-key"}},
		}))
	}
	if f.Backups {
		grantBackups(fn, f, p.backups)
	}
	if initGated(f) && p.initSecret != nil {
		fn.AddEnvironment(jsii.String("VAULT_INIT_GATED"), jsii.String("true"), nil)
		fn.AddEnvironment(jsii.String("VAULT_INIT_SECRET_ARN"), p.initSecret.SecretArn(), nil)
		p.initSecret.GrantRead(fn, nil)
	}
}

// unsealContexts are the encryption contexts vault-crypto wraps with
// (shared/vault/keeper: the root key of a seal generation, the unseal shares).
var unsealContexts = []string{"secretumvault-root-key", "secretumvault-unseal-share"}

// grantUnseal lets fn encrypt and decrypt with the unseal key, only under the
// vault's own encryption contexts: no data keys, no re-encryption.
func grantUnseal(fn awslambda.Function, key awskms.IKey) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("kms:Encrypt", "kms:Decrypt"),
		Resources: jsii.Strings(*key.KeyArn()),
		Conditions: &map[string]any{"StringEquals": map[string]any{
			"kms:EncryptionContext:purpose": unsealContexts,
		}},
	}))
}
