// Package stacks generates the whole AWS deployment from the function catalog:
// a platform stack (KMS, secrets, dead-letter queue, optional self-hosted NATS
// and SurrealDB), one stack per system (its HTTP API and one Lambda per catalog
// function) and the dispatcher stack (the NATS → Lambda bridge on Fargate).
package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// FunctionPrefix is prepended to every deployed function name; the dispatcher
// and the Invoke adapter add it back (STRATUM_FUNCTION_PREFIX).
const FunctionPrefix = "stratum-"

// Config says what to generate.
type Config struct {
	Systems   []catalog.System
	Streams   []catalog.Stream
	Functions []catalog.Function
	// DistDir holds <function>/bootstrap and dispatcher/ (Dockerfile + stratum) from `make build`.
	DistDir string
	// LocalStack targets the LocalStack compose services instead of managed ones.
	LocalStack bool
	// SelfHosted runs NATS and SurrealDB on Fargate in the platform stack.
	SelfHosted bool
	// SurrealURL and NATSURL are the managed services' URLs written into the secrets.
	SurrealURL string
	NATSURL    string
	Env        *awscdk.Environment
}

// FromCatalog is the configuration of the real catalog.
func FromCatalog(distDir string) Config {
	return Config{Systems: catalog.Systems, Streams: catalog.Streams, Functions: catalog.Functions, DistDir: distDir,
		SurrealURL: "wss://surrealdb.example.invalid", NATSURL: "tls://nats.example.invalid:4222"}
}

// Stacks are the generated stacks.
//
// Dead letters: the bus keeps its own (the DEADLETTER stream); SQS queues catch
// failed scheduled invocations, one per system stack that declares schedules.
type Stacks struct {
	Platform   awscdk.Stack
	Systems    map[string]awscdk.Stack
	Dispatcher awscdk.Stack
	// Functions holds every Lambda by catalog name.
	Functions map[string]awslambda.Function
}

// Build adds every stack to app. It fails, naming the culprit, when the catalog
// is inconsistent or a function's binary is missing from DistDir.
func Build(app awscdk.App, cfg Config) (*Stacks, error) {
	if err := catalog.Validate(cfg.Systems, cfg.Streams, cfg.Functions); err != nil {
		return nil, err
	}
	var missing []string
	for _, f := range cfg.Functions {
		if _, err := os.Stat(filepath.Join(cfg.DistDir, f.Name, "bootstrap")); err != nil {
			missing = append(missing, filepath.Join(cfg.DistDir, f.Name, "bootstrap"))
		}
	}
	for _, file := range []string{"Dockerfile", "stratum"} {
		if _, err := os.Stat(filepath.Join(cfg.DistDir, "dispatcher", file)); err != nil {
			missing = append(missing, filepath.Join(cfg.DistDir, "dispatcher", file))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("missing build output (run `make build`): %s", strings.Join(missing, ", "))
	}
	if cfg.LocalStack {
		// Seen from LocalStack's Lambda containers, the compose services go by their names.
		cfg.SurrealURL, cfg.NATSURL = "ws://surrealdb:8000", "nats://nats:4222"
	}
	out := &Stacks{Systems: map[string]awscdk.Stack{}, Functions: map[string]awslambda.Function{}}
	platform := newPlatform(app, cfg)
	out.Platform = platform.stack
	for _, sys := range cfg.Systems {
		var fns []catalog.Function
		for _, f := range cfg.Functions {
			if f.System == sys.Name {
				fns = append(fns, f)
			}
		}
		if len(fns) == 0 {
			continue
		}
		stack := newSystem(app, cfg, sys, fns, platform, out.Functions)
		out.Systems[sys.Name] = stack
	}
	out.Dispatcher = newDispatcher(app, cfg, platform, out.Functions)
	return out, nil
}

// platform holds what every system stack uses.
type platform struct {
	stack         awscdk.Stack
	unsealKey     awskms.Key
	secretsKey    awskms.Key
	surrealSecret awssecretsmanager.Secret
	natsSecret    awssecretsmanager.Secret
	authSecret    awssecretsmanager.Secret
	vpc           awsec2.Vpc
	// backups holds the vault's scheduled snapshots (when a function writes them).
	backups awss3.Bucket
}

func newPlatform(app awscdk.App, cfg Config) *platform {
	stack := awscdk.NewStack(app, jsii.String("StratumPlatform"), &awscdk.StackProps{Env: cfg.Env,
		Description: jsii.String("StratumIOps shared resources: vault auto-unseal key, service credentials, network")})
	p := &platform{stack: stack}
	p.unsealKey = awskms.NewKey(stack, jsii.String("VaultUnsealKey"), &awskms.KeyProps{
		Description:       jsii.String("Wraps the SecretumVault root key (auto-unseal); usable only by vault-crypto"),
		EnableKeyRotation: jsii.Bool(true),
		Alias:             jsii.String("alias/stratum/vault-unseal"),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(30)),
	})
	p.secretsKey = awskms.NewKey(stack, jsii.String("AppSecretsKey"), &awskms.KeyProps{
		Description:       jsii.String("Seals application secrets that are not the vault's (LLM providers' API keys); usable only by functions with SecretsKey"),
		EnableKeyRotation: jsii.Bool(true),
		Alias:             jsii.String("alias/stratum/app-secrets"),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(30)),
	})
	p.surrealSecret = awssecretsmanager.NewSecret(stack, jsii.String("SurrealCredentials"), &awssecretsmanager.SecretProps{
		Description: jsii.String("SurrealDB endpoint and root credentials: {url, user, pass}"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String(fmt.Sprintf(`{"url":%q,"user":"root"}`, cfg.SurrealURL)),
			GenerateStringKey:    jsii.String("pass"),
			ExcludePunctuation:   jsii.Bool(true),
			PasswordLength:       jsii.Number(32),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	p.natsSecret = awssecretsmanager.NewSecret(stack, jsii.String("NatsCredentials"), &awssecretsmanager.SecretProps{
		Description: jsii.String("NATS endpoint: {url}"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String(fmt.Sprintf(`{"url":%q}`, cfg.NATSURL)),
			GenerateStringKey:    jsii.String("token"),
			ExcludePunctuation:   jsii.Bool(true),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	p.authSecret = awssecretsmanager.NewSecret(stack, jsii.String("ApiAuth"), &awssecretsmanager.SecretProps{
		Description: jsii.String("API caller authentication: {jwt_secret (HS256), api_keys (JSON list of {name, key_sha256, scopes})}"),
		GenerateSecretString: &awssecretsmanager.SecretStringGenerator{
			SecretStringTemplate: jsii.String(`{"api_keys":"[]"}`),
			GenerateStringKey:    jsii.String("jwt_secret"),
			ExcludePunctuation:   jsii.Bool(true),
			PasswordLength:       jsii.Number(48),
		},
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	if !cfg.LocalStack {
		p.vpc = awsec2.NewVpc(stack, jsii.String("Network"), &awsec2.VpcProps{
			MaxAzs:      jsii.Number(2),
			NatGateways: jsii.Number(0),
			SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
				{Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24)},
			},
		})
		if cfg.SelfHosted {
			newSelfHosted(stack, p)
		}
	}
	if slices.ContainsFunc(cfg.Functions, func(f catalog.Function) bool { return f.Backups }) {
		p.backups = newBackupBucket(stack)
	}
	awscdk.NewCfnOutput(stack, jsii.String("VaultUnsealKeyArn"), &awscdk.CfnOutputProps{Value: p.unsealKey.KeyArn()})
	return p
}

func newSystem(app awscdk.App, cfg Config, sys catalog.System, fns []catalog.Function, p *platform,
	all map[string]awslambda.Function) awscdk.Stack {
	stack := awscdk.NewStack(app, jsii.String("Stratum"+title(sys.Name)), &awscdk.StackProps{Env: cfg.Env,
		Description: jsii.String("StratumIOps " + sys.Name + ": its HTTP API and functions")})
	var api awsapigatewayv2.HttpApi
	// Scheduled invocations that fail after retries land here. The queue lives in
	// the system's stack: EventBridge adds a queue policy naming each rule, which
	// from the platform stack would make the two stacks depend on each other.
	var deadLetters awssqs.Queue
	for _, f := range fns {
		fn := newFunction(stack, cfg, f, p)
		all[f.Name] = fn
		if f.Kind == catalog.HTTP {
			if api == nil {
				api = awsapigatewayv2.NewHttpApi(stack, jsii.String("Api"), &awsapigatewayv2.HttpApiProps{
					ApiName:     jsii.String("stratum-" + sys.Name),
					Description: jsii.String("StratumIOps " + sys.Name + " API"),
				})
			}
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
		if f.Schedule != "" {
			if deadLetters == nil {
				deadLetters = awssqs.NewQueue(stack, jsii.String("ScheduleDeadLetters"), &awssqs.QueueProps{
					RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
					Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
					EnforceSSL:      jsii.Bool(true),
				})
			}
			rule := awsevents.NewRule(stack, jsii.String(f.Name+"-schedule"), &awsevents.RuleProps{
				Schedule:    awsevents.Schedule_Expression(jsii.String(f.Schedule)),
				Description: jsii.String("Runs " + f.Name + " " + f.Schedule),
			})
			rule.AddTarget(awseventstargets.NewLambdaFunction(fn, &awseventstargets.LambdaFunctionProps{
				DeadLetterQueue: deadLetters,
				RetryAttempts:   jsii.Number(2),
			}))
		}
	}
	// Invoke grants: exactly the functions each one declares.
	for _, f := range fns {
		for _, target := range f.Invokes {
			all[target].GrantInvoke(all[f.Name])
		}
	}
	if api != nil {
		awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{
			Value:       api.ApiEndpoint(),
			Description: jsii.String("Base URL of the " + sys.Name + " API"),
			ExportName:  jsii.String("stratum-" + sys.Name + "-api-url"),
		})
	}
	return stack
}

func newFunction(stack awscdk.Stack, cfg Config, f catalog.Function, p *platform) awslambda.Function {
	env := map[string]*string{"STRATUM_FUNCTION_PREFIX": jsii.String(FunctionPrefix)}
	for k, v := range f.Environment() {
		if v != "" {
			env[k] = jsii.String(v)
		}
	}
	if cfg.LocalStack {
		env["LAMBDA_ENDPOINT"] = jsii.String("http://localhost.localstack.cloud:4566")
	}
	logs := awslogs.NewLogGroup(stack, jsii.String(f.Name+"-logs"), &awslogs.LogGroupProps{
		LogGroupName:  jsii.String("/aws/lambda/" + FunctionPrefix + f.Name),
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	props := &awslambda.FunctionProps{
		FunctionName:  jsii.String(FunctionPrefix + f.Name),
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
	}
	if f.Concurrency > 0 {
		props.ReservedConcurrentExecutions = jsii.Number(float64(f.Concurrency))
	}
	fn := awslambda.NewFunction(stack, jsii.String(f.Name), props)
	if f.Database != "" {
		fn.AddEnvironment(jsii.String("SURREAL_SECRET_ARN"), p.surrealSecret.SecretArn(), nil)
		p.surrealSecret.GrantRead(fn, nil)
	}
	if f.Bus {
		fn.AddEnvironment(jsii.String("NATS_SECRET_ARN"), p.natsSecret.SecretArn(), nil)
		p.natsSecret.GrantRead(fn, nil)
	}
	if f.Auth {
		fn.AddEnvironment(jsii.String("API_AUTH_SECRET_ARN"), p.authSecret.SecretArn(), nil)
		p.authSecret.GrantRead(fn, nil)
	}
	if f.KMS {
		fn.AddEnvironment(jsii.String("VAULT_UNSEAL_KEY_ARN"), p.unsealKey.KeyArn(), nil)
		p.unsealKey.GrantEncryptDecrypt(fn)
	}
	if f.SecretsKey {
		fn.AddEnvironment(jsii.String("SECRETS_KMS_KEY"), p.secretsKey.KeyArn(), nil)
		p.secretsKey.GrantEncryptDecrypt(fn)
	}
	if f.Backups {
		grantBackups(fn, f, p.backups)
	}
	return fn
}

// newBackupBucket is where vault-backup keeps its snapshots: private,
// encrypted, TLS only, versioned (a pruned or overwritten snapshot stays
// recoverable for 30 days, then its versions expire), kept when the stack goes.
func newBackupBucket(stack awscdk.Stack) awss3.Bucket {
	b := awss3.NewBucket(stack, jsii.String("VaultBackups"), &awss3.BucketProps{
		Versioned:         jsii.Bool(true),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("expire-pruned-snapshots"),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(30)),
			ExpiredObjectDeleteMarker:           jsii.Bool(true),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
		}},
	})
	awscdk.NewCfnOutput(stack, jsii.String("VaultBackupBucket"), &awscdk.CfnOutputProps{Value: b.BucketName()})
	return b
}

// grantBackups lets fn write, list and delete snapshots under its prefix of
// the backup bucket, and nothing else there (no read: restoring is a person's
// act, through sys/storage/raft/snapshot-force); vault-audit may also read
// its audit checkpoints.
func grantBackups(fn awslambda.Function, f catalog.Function, bucket awss3.Bucket) {
	prefix := f.Env["VAULT_BACKUP_PREFIX"]
	fn.AddEnvironment(jsii.String("VAULT_BACKUP_BUCKET"), bucket.BucketName(), nil)
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("s3:PutObject", "s3:DeleteObject"),
		Resources: jsii.Strings(*bucket.ArnForObjects(jsii.String(prefix + "*"))),
	}))
	if f.Env["VAULT_AUDIT_KEEP"] != "" {
		// vault-audit reads its own checkpoints back to verify the log.
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("s3:GetObject"),
			Resources: jsii.Strings(*bucket.ArnForObjects(jsii.String(prefix + "*"))),
		}))
	}
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:    jsii.Strings("s3:ListBucket"),
		Resources:  jsii.Strings(*bucket.BucketArn()),
		Conditions: &map[string]any{"StringLike": map[string]any{"s3:prefix": []string{prefix + "*"}}},
	}))
}

func httpMethod(m string) awsapigatewayv2.HttpMethod {
	switch m {
	case "GET":
		return awsapigatewayv2.HttpMethod_GET
	case "POST":
		return awsapigatewayv2.HttpMethod_POST
	case "PUT":
		return awsapigatewayv2.HttpMethod_PUT
	case "PATCH":
		return awsapigatewayv2.HttpMethod_PATCH
	case "DELETE":
		return awsapigatewayv2.HttpMethod_DELETE
	case "HEAD":
		return awsapigatewayv2.HttpMethod_HEAD
	case "OPTIONS":
		return awsapigatewayv2.HttpMethod_OPTIONS
	}
	// ANY, and LIST: API Gateway knows no LIST method; Vault clients also send GET ?list=true.
	return awsapigatewayv2.HttpMethod_ANY
}

func title(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// consumerNames lists the consumer functions, sorted.
func consumerNames(fns []catalog.Function) []string {
	var out []string
	for _, f := range fns {
		if f.Kind == catalog.Consumer {
			out = append(out, f.Name)
		}
	}
	sort.Strings(out)
	return out
}
