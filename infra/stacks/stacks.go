// Package stacks generates the whole AWS deployment from the function catalog:
// a platform stack (KMS, secrets, dead-letter queue, optional self-hosted NATS
// and SurrealDB), one stack per system (its HTTP API and one Lambda per catalog
// function) and the dispatcher stack (the NATS → Lambda bridge on Fargate).
package stacks

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// FunctionPrefix is prepended to every deployed function name; the dispatcher
// and the Invoke adapter add it back (STRATUM_FUNCTION_PREFIX).
const FunctionPrefix = "stratum-"

// Config says what to generate.
type Config struct {
	Systems   []catalog.System
	Streams   []catalog.Stream
	Functions []catalog.Function
	// DistDir holds <function>/bootstrap (and <function>/Dockerfile for an
	// image function) and dispatcher/ (Dockerfile + stratum) from `make build`.
	DistDir string
	// LocalStack targets the LocalStack compose services instead of managed ones.
	LocalStack bool
	// SelfHosted runs NATS and SurrealDB on Fargate in the platform stack.
	SelfHosted bool
	// SurrealURL and NATSURL are the managed services' URLs written into the secrets.
	SurrealURL string
	NATSURL    string
	Env        *awscdk.Environment

	// Stage prefixes every name that is unique per account and region
	// (functions, stacks, secrets, aliases, exports), so that several copies
	// can live side by side; "" keeps the plain names.
	Stage string
	// NoReservedConcurrency leaves out the catalog's reserved concurrency: new
	// accounts have a concurrency quota of 10, and Lambda refuses a reservation
	// that leaves fewer than 10 unreserved.
	NoReservedConcurrency bool
	// AlarmEmail, if set, subscribes an address to the alarm topic.
	AlarmEmail string
	// UnsealKeyArn adopts an existing KMS key for the vault's auto-unseal
	// (disaster recovery: the key that wrapped the stored root key) instead of
	// creating one.
	UnsealKeyArn string
	// DomainName gives each API a stable name, <system>.<DomainName>, so that
	// VAULT_ADDR survives a rebuild of the API: with CertificateArn (in the
	// stacks' region, covering *.<DomainName>) as an API Gateway regional
	// custom domain; with HostedZoneID (the domain's Route 53 zone) behind
	// CloudFront with a WAF WebACL, the certificate made and DNS-validated in
	// us-east-1 by the edge stack (the two are exclusive).
	DomainName     string
	CertificateArn string
	HostedZoneID   string
	// WafRateLimit is the edge WebACL's limit per client address and 5
	// minutes; 0 takes 2000.
	WafRateLimit float64
	// Sites and WebSockets are the catalog's pages and WebSocket APIs; a
	// system with either gets a CloudFront distribution in front of its APIs.
	Sites      []catalog.Site
	WebSockets []catalog.WebSocket
	// SiteDirs holds each page's files by system (FromCatalog: the
	// repository's shared/<system>/ui/static).
	SiteDirs map[string]string
	// ThrottleRate and ThrottleBurst are each API stage's default route
	// throttling (requests per second, burst); 0 takes 100 and 200.
	ThrottleRate  float64
	ThrottleBurst float64
	// NatsImage and SurrealImage override the self-hosted images; pin them
	// by digest (name@sha256:…).
	NatsImage    string
	SurrealImage string
}

// FromCatalog is the configuration of the real catalog.
func FromCatalog(distDir string) Config {
	dirs := map[string]string{}
	for _, s := range catalog.Sites {
		dirs[s.System] = filepath.Join(repoRoot(), "shared", s.System, strings.Trim(s.Prefix, "/"), "static")
	}
	return Config{Systems: catalog.Systems, Streams: catalog.Streams, Functions: catalog.Functions, DistDir: distDir,
		Sites: catalog.Sites, WebSockets: catalog.WebSockets, SiteDirs: dirs,
		SurrealURL: "wss://surrealdb.example.invalid", NATSURL: "tls://nats.example.invalid:4222"}
}

// repoRoot is the nearest directory up from the working one that holds
// go.mod: the repository's root, whether the app runs from there (cdk.json)
// or its tests from infra/stacks.
func repoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return "."
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if filepath.Dir(d) == d {
			return "."
		}
	}
}

// Stacks are the generated stacks.
//
// Dead letters: the bus keeps its own (the DEADLETTER stream); SQS queues catch
// failed scheduled invocations, one per system stack that declares schedules.
type Stacks struct {
	Platform   awscdk.Stack
	Systems    map[string]awscdk.Stack
	Dispatcher awscdk.Stack
	// Edge is the us-east-1 stack of CloudFront's certificate and WebACL;
	// nil unless the edge is configured (Config.HostedZoneID).
	Edge awscdk.Stack
	// Functions holds every Lambda by catalog name.
	Functions map[string]awslambda.Function
}

// Build adds every stack to app. It fails, naming the culprit, when the catalog
// is inconsistent or a function's binary is missing from DistDir.
func Build(app awscdk.App, cfg Config) (*Stacks, error) {
	if err := catalog.Validate(cfg.Systems, cfg.Streams, cfg.Functions); err != nil {
		return nil, err
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	var missing []string
	for _, f := range cfg.Functions {
		if _, err := os.Stat(filepath.Join(cfg.DistDir, f.Name, "bootstrap")); err != nil {
			missing = append(missing, filepath.Join(cfg.DistDir, f.Name, "bootstrap"))
		}
		if _, err := os.Stat(filepath.Join(cfg.DistDir, f.Name, "Dockerfile")); err != nil && f.Image {
			missing = append(missing, filepath.Join(cfg.DistDir, f.Name, "Dockerfile")+" (an image function)")
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.DistDir, SurrealUsersFunction, "bootstrap")); err != nil {
		missing = append(missing, filepath.Join(cfg.DistDir, SurrealUsersFunction, "bootstrap"))
	}
	for _, file := range []string{"Dockerfile", "dispatcher"} {
		if _, err := os.Stat(filepath.Join(cfg.DistDir, "dispatcher", file)); err != nil {
			missing = append(missing, filepath.Join(cfg.DistDir, "dispatcher", file))
		}
	}
	for _, site := range cfg.Sites {
		if needsDistribution(cfg, site.System) {
			if _, err := os.Stat(filepath.Join(cfg.SiteDirs[site.System], "index.html")); err != nil {
				missing = append(missing, filepath.Join(cfg.SiteDirs[site.System], "index.html")+" (the "+site.System+" page's files)")
			}
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
	var e *edge
	if cfg.edge() {
		e = newEdge(app, cfg)
		out.Edge = e.stack
		suppress(e.stack)
	}
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
		stack := newSystem(app, cfg, sys, fns, platform, out.Functions, e)
		out.Systems[sys.Name] = stack
	}
	out.Dispatcher = newDispatcher(app, cfg, platform, out.Functions)
	suppress(out.Platform)
	for _, s := range out.Systems {
		suppress(s)
	}
	if out.Dispatcher != nil {
		suppress(out.Dispatcher)
	}
	awscdk.Tags_Of(app).Add(jsii.String("project"), jsii.String("stratumiops"), nil)
	awscdk.Tags_Of(app).Add(jsii.String("stage"), jsii.String(cmp.Or(cfg.Stage, "default")), nil)
	return out, nil
}

// platform holds what every system stack uses.
type platform struct {
	stack         awscdk.Stack
	unsealKey     awskms.IKey
	secretsKey    awskms.Key
	surrealSecret awssecretsmanager.Secret // root's: for the self-hosted server and whoever defines users, never a function
	// dbUsers are the functions' own SurrealDB users, by function name.
	dbUsers    map[string]awssecretsmanager.Secret
	natsSecret awssecretsmanager.Secret
	authSecret awssecretsmanager.Secret
	// initSecret holds the vault's init token (gatesInit); nil otherwise.
	initSecret awssecretsmanager.Secret
	// clientSecrets hold the service credentials of the systems functions
	// call (catalog Function.Calls), by system.
	clientSecrets map[string]awssecretsmanager.Secret
	// vaultAuth hold, by function, the SecretumVault credentials of the
	// functions that read it (those with VAULT_ADDR in their environment).
	vaultAuth map[string]awssecretsmanager.Secret
	vpc       awsec2.Vpc
	// clients is the security group of everything that talks to the
	// self-hosted NATS and SurrealDB (functions in the VPC, the dispatcher);
	// nil in managed mode.
	clients awsec2.SecurityGroup
	// surrealService is the self-hosted SurrealDB (nil in managed mode):
	// the surreal-users custom resource waits for it.
	surrealService awsecs.FargateService
	// dataServices are the self-hosted NATS and SurrealDB: they start after
	// the certificate step. tlsCA, natsTLS and surrealTLS are its secrets.
	dataServices               []awsecs.FargateService
	tlsCA, natsTLS, surrealTLS awssecretsmanager.Secret
	// alarms receives every alarm of every stack.
	alarms awssns.Topic
	// backups holds the vault's scheduled snapshots (when a function writes them).
	backups awss3.Bucket
}

func newPlatform(app awscdk.App, cfg Config) *platform {
	stack := awscdk.NewStack(app, jsii.String(cfg.stackName("Platform")), &awscdk.StackProps{Env: cfg.Env,
		Description: jsii.String("StratumIOps shared resources: vault auto-unseal key, service credentials, network"),
		// Deleting it would orphan the vault (its unseal key and credentials).
		TerminationProtection: jsii.Bool(!cfg.LocalStack),
	})
	p := &platform{stack: stack}
	p.unsealKey = newUnsealKey(stack, cfg)
	p.secretsKey = awskms.NewKey(stack, jsii.String("AppSecretsKey"), &awskms.KeyProps{
		Description:       jsii.String("Seals application secrets that are not the vault's (LLM providers' API keys); usable only by functions with SecretsKey"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(30)),
	})
	// AddAlias keeps the alias's construct path (and logical id) of earlier deployments.
	p.secretsKey.AddAlias(jsii.String("alias/" + cfg.resourceName("/", "app-secrets"))).ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
	newSecrets(stack, cfg, p)
	p.alarms = newAlarmTopic(stack, cfg)
	if !cfg.LocalStack {
		newNetwork(stack, cfg, p)
		if cfg.SelfHosted {
			newSelfHosted(stack, cfg, p)
		}
	}
	newSurrealUsers(stack, cfg, p)
	if slices.ContainsFunc(cfg.Functions, func(f catalog.Function) bool { return f.Backups }) {
		p.backups = newBackupBucket(stack)
	}
	awscdk.NewCfnOutput(stack, jsii.String("VaultUnsealKeyArn"), &awscdk.CfnOutputProps{Value: p.unsealKey.KeyArn(),
		Description: jsii.String("Keep it: a rebuild adopts it with -c unsealKeyArn=… so the stored root key unwraps")})
	return p
}

// newUnsealKey creates the vault's auto-unseal key with a retained alias, or
// adopts the key of an earlier deployment (-c unsealKeyArn=…): a new key could
// not unwrap the root key stored in SurrealDB.
func newUnsealKey(stack awscdk.Stack, cfg Config) awskms.IKey {
	if cfg.UnsealKeyArn != "" {
		return awskms.Key_FromKeyArn(stack, jsii.String("VaultUnsealKey"), jsii.String(cfg.UnsealKeyArn))
	}
	key := awskms.NewKey(stack, jsii.String("VaultUnsealKey"), &awskms.KeyProps{
		Description:       jsii.String("Wraps the SecretumVault root key (auto-unseal); usable only by vault-crypto"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		PendingWindow:     awscdk.Duration_Days(jsii.Number(30)),
	})
	key.AddAlias(jsii.String("alias/" + cfg.resourceName("/", "vault-unseal"))).ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN)
	return key
}

// newSecrets creates the service credentials, named (stratum[/<stage>]/…)
// and output, so a person can find and fill them. What the stack itself
// generates (self-hosted passwords, the JWT secret) has a generator; what a
// person enters (a managed service's password or creds) has none, so a
// redeploy never regenerates it. URLs are not secrets: they go to the
// functions as SURREAL_URL and NATS_URL.
func newSecrets(stack awscdk.Stack, cfg Config, p *platform) {
	secret := func(id, name, description string, gen *awssecretsmanager.SecretStringGenerator, manual map[string]string) awssecretsmanager.Secret {
		props := &awssecretsmanager.SecretProps{
			SecretName:           jsii.String(cfg.resourceName("/", name)),
			Description:          jsii.String(description),
			GenerateSecretString: gen,
			RemovalPolicy:        awscdk.RemovalPolicy_RETAIN,
		}
		if gen == nil {
			fields := map[string]awscdk.SecretValue{}
			for k, v := range manual {
				fields[k] = awscdk.SecretValue_UnsafePlainText(jsii.String(v)) // names and empty slots only
			}
			props.SecretObjectValue = &fields
		}
		s := awssecretsmanager.NewSecret(stack, jsii.String(id), props)
		awscdk.NewCfnOutput(stack, jsii.String(id+"Name"), &awscdk.CfnOutputProps{Value: s.SecretName(),
			Description: jsii.String(description)})
		return s
	}
	generated := func(template, key string, length float64) *awssecretsmanager.SecretStringGenerator {
		return &awssecretsmanager.SecretStringGenerator{SecretStringTemplate: jsii.String(template),
			GenerateStringKey: jsii.String(key), ExcludePunctuation: jsii.Bool(true), PasswordLength: jsii.Number(length)}
	}
	switch {
	case cfg.LocalStack: // the compose file's servers: root/root, NATS without auth
		p.surrealSecret = secret("SurrealCredentials", "surreal", "SurrealDB credentials {user, pass} of the compose server",
			nil, map[string]string{"user": "root", "pass": "root"})
		p.natsSecret = secret("NatsCredentials", "nats", "NATS credentials: none for the compose server", nil, map[string]string{})
	case cfg.SelfHosted:
		p.surrealSecret = secret("SurrealCredentials", "surreal", "SurrealDB credentials {user, pass}, generated for the self-hosted server",
			generated(`{"user":"root"}`, "pass", 32), nil)
		p.natsSecret = secret("NatsCredentials", "nats", "NATS credentials {token}, generated for the self-hosted server",
			generated(`{}`, "token", 32), nil)
	default:
		p.surrealSecret = secret("SurrealCredentials", "surreal", "SurrealDB credentials {user, pass}: put your SurrealDB Cloud user's password in pass",
			nil, map[string]string{"user": "root", "pass": ""})
		p.natsSecret = secret("NatsCredentials", "nats", "NATS credentials {creds}: put the content of your Synadia Cloud user's .creds file in creds",
			nil, map[string]string{"creds": ""})
	}
	p.dbUsers = map[string]awssecretsmanager.Secret{}
	for _, f := range cfg.Functions {
		if f.Database != "" {
			p.dbUsers[f.Name] = secret("SurrealUser-"+f.Name, surrealUserSecret+f.Name,
				"SurrealDB user {user, pass} of function "+f.Name+": a user of database "+f.Database+" only, role "+
					surreal.UserRole+", defined with this password by the surreal-users custom resource (invoke it after changing pass)",
				generated(`{"user":"`+f.SurrealUser()+`"}`, "pass", 32), nil)
		}
	}
	if gatesInit(cfg) {
		p.initSecret = secret("VaultInit", "vault-init", "The vault's init token {token}: PUT sys/init must present it (stratum vault operator init --init-token); "+
			"read it once, initialise, then keep it or delete its value", generated(`{}`, "token", 48), nil)
	}
	p.authSecret = secret("ApiAuth", "api-auth", "API caller authentication: {jwt_secret (HS256), api_keys (JSON list of {name, key_sha256, scopes, owner})}",
		generated(`{"api_keys":"[]"}`, "jwt_secret", 48), nil)
	p.vaultAuth = map[string]awssecretsmanager.Secret{}
	for _, f := range cfg.Functions {
		if _, ok := f.Env["VAULT_ADDR"]; ok {
			p.vaultAuth[f.Name] = secret("VaultAuth-"+f.Name, "vault-auth-"+f.Name, "SecretumVault credentials of function "+f.Name+
				" {addr, role_id, secret_id}: an AppRole of its own (vault write auth/approle/role/"+f.Name+" token_policies=…), or {addr, token}",
				nil, map[string]string{"addr": "", "role_id": "", "secret_id": ""})
		}
	}
	p.clientSecrets = map[string]awssecretsmanager.Secret{}
	for _, f := range cfg.Functions {
		for _, system := range f.Calls {
			if p.clientSecrets[system] == nil {
				id := strings.ToUpper(system[:1]) + system[1:] + "Client"
				p.clientSecrets[system] = secret(id, system+"-client", "Service credential for the "+system+
					" API {url, api_key}: its URL and one of its API keys (a service scope such as kogral-reader)", nil,
					map[string]string{"url": "", "api_key": ""})
			}
		}
	}
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

// gatesInit reports whether the vault's sys/init is gated by an init token:
// in AWS, for a catalog whose vault-sys declares VAULT_INIT_GATED. LocalStack,
// like the devstack, keeps it open (its e2e suite initialises the vault).
func gatesInit(cfg Config) bool {
	return !cfg.LocalStack && slices.ContainsFunc(cfg.Functions, initGated)
}

func initGated(f catalog.Function) bool {
	_, ok := f.Env["VAULT_INIT_GATED"]
	return ok
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
