package stacks

import (
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// newDispatcher runs `stratum dispatch` on Fargate: AWS has no NATS trigger for
// Lambda, so this small service pulls each consumer's messages from JetStream
// and invokes exactly the consumer functions. LocalStack's community edition
// has no ECS, so there the dispatcher runs on the host (see README); nil then.
func newDispatcher(app awscdk.App, cfg Config, p *platform, fns map[string]awslambda.Function) awscdk.Stack {
	if cfg.LocalStack {
		return nil
	}
	stack := awscdk.NewStack(app, jsii.String("StratumDispatcher"), &awscdk.StackProps{Env: cfg.Env,
		Description: jsii.String("StratumIOps NATS → Lambda dispatcher (Fargate)")})
	cluster := awsecs.NewCluster(stack, jsii.String("Cluster"), &awsecs.ClusterProps{Vpc: p.vpc})
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
	task.AddContainer(jsii.String("dispatcher"), &awsecs.ContainerDefinitionOptions{
		Image:   awsecs.ContainerImage_FromAsset(jsii.String(filepath.Join(cfg.DistDir, "dispatcher")), nil),
		Command: jsii.Strings("dispatch"),
		Environment: &map[string]*string{
			"STRATUM_FUNCTION_PREFIX": jsii.String(FunctionPrefix),
			"LOG_LEVEL":               jsii.String("info"),
		},
		Secrets: &map[string]awsecs.Secret{
			"NATS_URL": awsecs.Secret_FromSecretsManager(p.natsSecret, jsii.String("url")),
		},
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{StreamPrefix: jsii.String("dispatcher"), LogGroup: logs}),
	})
	for _, name := range consumerNames(cfg.Functions) {
		fns[name].GrantInvoke(task.TaskRole())
	}
	awsecs.NewFargateService(stack, jsii.String("Service"), &awsecs.FargateServiceProps{
		Cluster:        cluster,
		TaskDefinition: task,
		DesiredCount:   jsii.Number(1),
		// Keep one dispatcher running through deployments: a second one briefly
		// shares the durable consumers, which at-least-once delivery tolerates.
		MinHealthyPercent: jsii.Number(100),
		MaxHealthyPercent: jsii.Number(200),
		AssignPublicIp:    jsii.Bool(true), // public subnets, no NAT: it reaches NATS and the Lambda API directly
		VpcSubnets:        &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC},
		CircuitBreaker:    &awsecs.DeploymentCircuitBreaker{Rollback: jsii.Bool(true)},
	})
	return stack
}
