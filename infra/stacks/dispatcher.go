package stacks

import (
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecrassets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// DispatcherHealthPort is where the dispatcher (cmd/dispatcher) answers /health inside its task.
const DispatcherHealthPort = "8081"

// newDispatcher runs cmd/dispatcher on Fargate: AWS has no NATS trigger for
// Lambda, so this small service pulls each consumer's messages from JetStream
// and invokes exactly the consumer functions. Two tasks in two zones share the
// durable consumers; each answers a container health check that fails when
// NATS is disconnected or a consumer is not bound, so ECS replaces it.
// LocalStack's community edition has no ECS, so there the dispatcher runs on
// the host (see README); nil then.
func newDispatcher(app awscdk.App, cfg Config, p *platform, fns map[string]awslambda.Function) awscdk.Stack {
	if cfg.LocalStack {
		return nil
	}
	stack := awscdk.NewStack(app, jsii.String(cfg.stackName("Dispatcher")), &awscdk.StackProps{Env: cfg.Env,
		Description: jsii.String("StratumIOps NATS → Lambda dispatcher (Fargate)")})
	cluster := awsecs.NewCluster(stack, jsii.String("Cluster"), &awsecs.ClusterProps{Vpc: p.vpc,
		ContainerInsightsV2: awsecs.ContainerInsights_ENABLED})
	task := awsecs.NewFargateTaskDefinition(stack, jsii.String("Task"), &awsecs.FargateTaskDefinitionProps{
		Cpu:            jsii.Number(256),
		MemoryLimitMiB: jsii.Number(512),
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       awsecs.CpuArchitecture_ARM64(),
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})
	logs := awslogs.NewLogGroup(stack, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	secrets := map[string]awsecs.Secret{}
	switch {
	case cfg.SelfHosted:
		secrets["NATS_TOKEN"] = awsecs.Secret_FromSecretsManager(p.natsSecret, jsii.String("token"))
		// The private CA's certificate, copied there by the certificate step (SelfHostedTls).
		secrets["NATS_CA"] = awsecs.Secret_FromSecretsManager(p.natsSecret, jsii.String("ca"))
	default:
		secrets["NATS_CREDS"] = awsecs.Secret_FromSecretsManager(p.natsSecret, jsii.String("creds"))
	}
	task.AddContainer(jsii.String("dispatcher"), &awsecs.ContainerDefinitionOptions{
		Image: awsecs.ContainerImage_FromAsset(jsii.String(filepath.Join(cfg.DistDir, "dispatcher")), &awsecs.AssetImageProps{
			Platform: awsecrassets.Platform_LINUX_ARM64(), // an x86 host still builds the arm64 image the task runs
		}),
		Command: jsii.Strings("--health-addr", "127.0.0.1:"+DispatcherHealthPort),
		Environment: &map[string]*string{
			"STRATUM_FUNCTION_PREFIX": jsii.String(cfg.prefix()),
			"NATS_URL":                jsii.String(cfg.NATSURL),
			"LOG_LEVEL":               jsii.String("info"),
		},
		Secrets: &secrets,
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{StreamPrefix: jsii.String("dispatcher"), LogGroup: logs}),
		HealthCheck: &awsecs.HealthCheck{
			Command:     jsii.Strings("CMD", "/usr/local/bin/dispatcher", "--probe", "http://127.0.0.1:"+DispatcherHealthPort+"/health"),
			Interval:    awscdk.Duration_Seconds(jsii.Number(30)),
			Retries:     jsii.Number(3),
			StartPeriod: awscdk.Duration_Seconds(jsii.Number(60)),
		},
	})
	for _, name := range consumerNames(cfg.Functions) {
		fns[name].GrantInvoke(task.TaskRole())
	}
	props := &awsecs.FargateServiceProps{
		Cluster:        cluster,
		TaskDefinition: task,
		// Two tasks, spread across zones by ECS; they share the durable
		// consumers, which at-least-once delivery tolerates.
		DesiredCount:      jsii.Number(2),
		MinHealthyPercent: jsii.Number(50),
		MaxHealthyPercent: jsii.Number(200),
		CircuitBreaker:    &awsecs.DeploymentCircuitBreaker{Rollback: jsii.Bool(true)},
		// Public subnets without NAT (managed mode): it reaches the managed NATS and the Lambda API directly.
		AssignPublicIp: jsii.Bool(true),
		VpcSubnets:     &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC},
	}
	if p.clients != nil { // self-hosted: beside NATS, no public address
		props.AssignPublicIp = jsii.Bool(false)
		props.VpcSubnets = &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
		props.SecurityGroups = &[]awsec2.ISecurityGroup{p.clients}
	}
	service := awsecs.NewFargateService(stack, jsii.String("Service"), props)
	watchDispatcher(stack, cfg, cluster, service, logs, p.alarms)
	return stack
}
