package stacks

import (
	"cmp"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsefs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsservicediscovery"
	"github.com/aws/jsii-runtime-go"
)

// SelfHostedDomain is the Cloud Map namespace of the self-hosted services.
const SelfHostedDomain = "stratum.internal"

// The self-hosted servers' URLs: TLS only, with certificates for these
// names from the stack's private CA (see newCertificates).
const (
	SelfHostedSurrealURL = "wss://surrealdb." + SelfHostedDomain + ":8000"
	SelfHostedNATSURL    = "tls://nats." + SelfHostedDomain + ":4222"
)

// Default self-hosted images (multi-arch; the tasks run arm64). Pin them by
// digest with -c natsImage=nats@sha256:… -c surrealImage=surrealdb/surrealdb@sha256:….
const (
	DefaultNatsImage    = "nats:2.11-alpine"
	DefaultSurrealImage = "surrealdb/surrealdb:v3.0.2"
)

// natsConfig is written by the container's shell at start: NATS resolves
// $NATS_TOKEN from the environment (the secret), so the token appears on no
// command line; the certificate and key (ECS secrets from the NATS TLS
// secret) go to files only its user reads, and clients must speak TLS.
const natsConfig = `umask 077 && mkdir -p /tmp/tls && printf '%s' "$TLS_CERT" > /tmp/tls/cert.pem && printf '%s' "$TLS_KEY" > /tmp/tls/key.pem && ` +
	`printf 'jetstream { store_dir: "/data" }\nmonitor_port: 8222\nauthorization { token: $NATS_TOKEN }\n` +
	`tls { cert_file: "/tmp/tls/cert.pem", key_file: "/tmp/tls/key.pem" }\n' > /tmp/nats.conf && ` +
	`unset TLS_CERT TLS_KEY && exec nats-server -c /tmp/nats.conf`

// surrealTLSFiles runs in an init container (the NATS image: the SurrealDB
// image has no shell) and writes SurrealDB's certificate and key into the
// task's own volume, readable by SurrealDB's user (1000) only.
const surrealTLSFiles = `umask 077 && printf '%s' "$TLS_CERT" > /tls/cert.pem && printf '%s' "$TLS_KEY" > /tls/key.pem && chown 1000:1000 /tls/cert.pem /tls/key.pem`

// dataService is one self-hosted server.
type dataService struct {
	name, image string
	port        float64
	entryPoint  []string
	command     []string
	secrets     map[string]awsecs.Secret
	healthCheck []string
	// tlsFiles: an init container (tlsImage) writes the certificate and key
	// to /tls first; the server runs as user 1000.
	tlsFiles bool
	tlsImage string
	tls      awssecretsmanager.Secret
}

// newSelfHosted runs NATS (JetStream, token auth, TLS) and SurrealDB
// (RocksDB, root password from the secret, TLS) as Fargate services on arm64
// in the private subnets, with their data on EFS (retained, backed up),
// reachable as tls://nats.stratum.internal and wss://surrealdb.stratum.internal
// only from the DataClients security group. Their certificates come from
// the stack's private CA (newCertificates, before either starts). Chosen
// with `-c selfHosted=true` for accounts without Synadia Cloud / SurrealDB
// Cloud.
func newSelfHosted(stack awscdk.Stack, cfg Config, p *platform) {
	cluster := awsecs.NewCluster(stack, jsii.String("DataCluster"), &awsecs.ClusterProps{
		Vpc:                            p.vpc,
		DefaultCloudMapNamespace:       &awsecs.CloudMapNamespaceOptions{Name: jsii.String(SelfHostedDomain), Vpc: p.vpc},
		EnableFargateCapacityProviders: jsii.Bool(true),
		ContainerInsightsV2:            awsecs.ContainerInsights_ENABLED,
	})
	fs := awsefs.NewFileSystem(stack, jsii.String("Data"), &awsefs.FileSystemProps{
		Vpc:                    p.vpc,
		VpcSubnets:             &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
		Encrypted:              jsii.Bool(true),
		EnableAutomaticBackups: jsii.Bool(true),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
	})
	sg := awsec2.NewSecurityGroup(stack, jsii.String("DataServices"), &awsec2.SecurityGroupProps{Vpc: p.vpc,
		Description: jsii.String("NATS and SurrealDB: reachable from the DataClients group only")})
	sg.AddIngressRule(p.clients, awsec2.Port_Tcp(jsii.Number(4222)), jsii.String("NATS clients"), nil)
	sg.AddIngressRule(p.clients, awsec2.Port_Tcp(jsii.Number(8000)), jsii.String("SurrealDB RPC"), nil)
	fs.Connections().AllowDefaultPortFrom(sg, jsii.String("services mount their data"))
	p.tlsCA, p.natsTLS, p.surrealTLS = tlsSecret(stack, cfg, "TlsCa", "ca", "{cert, key} of the private CA of NATS and SurrealDB: the surreal-users custom resource's only"),
		tlsSecret(stack, cfg, "NatsTls", "nats", "{cert, key, ca} of the self-hosted NATS: its ECS task's only"),
		tlsSecret(stack, cfg, "SurrealTls", "surrealdb", "{cert, key, ca} of the self-hosted SurrealDB: its ECS task's only")
	for _, svc := range []dataService{
		{name: "nats", image: cmp.Or(cfg.NatsImage, DefaultNatsImage), port: 4222, tls: p.natsTLS,
			entryPoint: []string{"sh", "-c"}, command: []string{natsConfig},
			secrets:     map[string]awsecs.Secret{"NATS_TOKEN": awsecs.Secret_FromSecretsManager(p.natsSecret, jsii.String("token"))},
			healthCheck: []string{"CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8222/healthz || exit 1"}},
		// No container health check: `surreal is-ready` cannot be told to trust the private CA.
		{name: "surrealdb", image: cmp.Or(cfg.SurrealImage, DefaultSurrealImage), port: 8000, tls: p.surrealTLS,
			tlsFiles: true, tlsImage: cmp.Or(cfg.NatsImage, DefaultNatsImage),
			command: []string{"start", "--bind", "0.0.0.0:8000", "--user", "root",
				"--web-crt", "/tls/cert.pem", "--web-key", "/tls/key.pem", "rocksdb:///data/db"},
			secrets: map[string]awsecs.Secret{"SURREAL_PASS": awsecs.Secret_FromSecretsManager(p.surrealSecret, jsii.String("pass"))}},
	} {
		service := svc.run(stack, cluster, fs, sg)
		p.dataServices = append(p.dataServices, service)
		if svc.name == "surrealdb" {
			p.surrealService = service
		}
	}
}

// tlsSecret is one of the self-hosted TLS secrets: "{}" until the
// certificate step (surreal-users, Step certs) fills it.
func tlsSecret(stack awscdk.Stack, cfg Config, id, name, description string) awssecretsmanager.Secret {
	return awssecretsmanager.NewSecret(stack, jsii.String(id), &awssecretsmanager.SecretProps{
		SecretName:        jsii.String(cfg.resourceName("/", "tls/"+name)),
		Description:       jsii.String(description),
		SecretObjectValue: &map[string]awscdk.SecretValue{},
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
}

func (d dataService) run(stack awscdk.Stack, cluster awsecs.Cluster, fs awsefs.FileSystem, sg awsec2.SecurityGroup) awsecs.FargateService {
	access := fs.AddAccessPoint(jsii.String(d.name+"-data"), &awsefs.AccessPointOptions{
		Path:      jsii.String("/" + d.name),
		CreateAcl: &awsefs.Acl{OwnerUid: jsii.String("1000"), OwnerGid: jsii.String("1000"), Permissions: jsii.String("750")},
		PosixUser: &awsefs.PosixUser{Uid: jsii.String("1000"), Gid: jsii.String("1000")},
	})
	task := awsecs.NewFargateTaskDefinition(stack, jsii.String(d.name+"-task"), &awsecs.FargateTaskDefinitionProps{
		Cpu: jsii.Number(512), MemoryLimitMiB: jsii.Number(1024),
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture: awsecs.CpuArchitecture_ARM64(), OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
		Volumes: &[]*awsecs.Volume{{Name: jsii.String("data"), EfsVolumeConfiguration: &awsecs.EfsVolumeConfiguration{
			FileSystemId: fs.FileSystemId(), TransitEncryption: jsii.String("ENABLED"),
			AuthorizationConfig: &awsecs.AuthorizationConfig{AccessPointId: access.AccessPointId(), Iam: jsii.String("ENABLED")},
		}}},
	})
	fs.GrantReadWrite(task.TaskRole())
	logs := awslogs.NewLogGroup(stack, jsii.String(d.name+"-logs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY})
	tlsSecrets := map[string]awsecs.Secret{
		"TLS_CERT": awsecs.Secret_FromSecretsManager(d.tls, jsii.String("cert")),
		"TLS_KEY":  awsecs.Secret_FromSecretsManager(d.tls, jsii.String("key")),
	}
	opts := &awsecs.ContainerDefinitionOptions{
		Image:        awsecs.ContainerImage_FromRegistry(jsii.String(d.image), nil),
		Command:      jsii.Strings(d.command...),
		Secrets:      &d.secrets,
		PortMappings: &[]*awsecs.PortMapping{{ContainerPort: jsii.Number(d.port)}},
		Logging:      awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{StreamPrefix: jsii.String(d.name), LogGroup: logs}),
	}
	if d.healthCheck != nil {
		opts.HealthCheck = &awsecs.HealthCheck{Command: jsii.Strings(d.healthCheck...),
			StartPeriod: awscdk.Duration_Seconds(jsii.Number(30))}
	}
	if d.entryPoint != nil {
		opts.EntryPoint = jsii.Strings(d.entryPoint...)
	}
	if !d.tlsFiles {
		for k, v := range tlsSecrets {
			d.secrets[k] = v
		}
	} else {
		opts.User = jsii.String("1000")
	}
	container := task.AddContainer(jsii.String(d.name), opts)
	container.AddMountPoints(&awsecs.MountPoint{SourceVolume: jsii.String("data"), ContainerPath: jsii.String("/data"), ReadOnly: jsii.Bool(false)})
	if d.tlsFiles {
		d.writeTLSFiles(task, container, tlsSecrets, logs)
	}
	return awsecs.NewFargateService(stack, jsii.String(d.name+"-service"), &awsecs.FargateServiceProps{
		Cluster: cluster, TaskDefinition: task, DesiredCount: jsii.Number(1), AssignPublicIp: jsii.Bool(false),
		VpcSubnets: &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
		// One writer per data directory: stop the old task before starting the new one.
		MinHealthyPercent: jsii.Number(0), MaxHealthyPercent: jsii.Number(100),
		SecurityGroups:  &[]awsec2.ISecurityGroup{sg},
		CloudMapOptions: &awsecs.CloudMapOptions{Name: jsii.String(d.name), DnsRecordType: awsservicediscovery.DnsRecordType_A},
		CircuitBreaker:  &awsecs.DeploymentCircuitBreaker{Rollback: jsii.Bool(true)},
	})
}

// writeTLSFiles adds the init container that writes the certificate and
// key into the task's volume "tls", which container mounts read-only at
// /tls and starts after it has succeeded.
func (d dataService) writeTLSFiles(task awsecs.FargateTaskDefinition, container awsecs.ContainerDefinition,
	secrets map[string]awsecs.Secret, logs awslogs.LogGroup) {
	task.AddVolume(&awsecs.Volume{Name: jsii.String("tls")})
	init := task.AddContainer(jsii.String(d.name+"-tls"), &awsecs.ContainerDefinitionOptions{
		Image:      awsecs.ContainerImage_FromRegistry(jsii.String(d.tlsImage), nil),
		Essential:  jsii.Bool(false),
		EntryPoint: jsii.Strings("sh", "-c"),
		Command:    jsii.Strings(surrealTLSFiles),
		Secrets:    &secrets,
		Logging:    awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{StreamPrefix: jsii.String(d.name + "-tls"), LogGroup: logs}),
	})
	init.AddMountPoints(&awsecs.MountPoint{SourceVolume: jsii.String("tls"), ContainerPath: jsii.String("/tls"), ReadOnly: jsii.Bool(false)})
	container.AddMountPoints(&awsecs.MountPoint{SourceVolume: jsii.String("tls"), ContainerPath: jsii.String("/tls"), ReadOnly: jsii.Bool(true)})
	container.AddContainerDependencies(&awsecs.ContainerDependency{Container: init, Condition: awsecs.ContainerDependencyCondition_SUCCESS})
}
