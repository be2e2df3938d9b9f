package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsefs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsservicediscovery"
	"github.com/aws/jsii-runtime-go"
)

// SelfHostedDomain is the Cloud Map namespace of the self-hosted services.
const SelfHostedDomain = "stratum.internal"

// newSelfHosted runs NATS (JetStream) and SurrealDB as Fargate services with
// their data on EFS (retained), reachable as nats.stratum.internal and
// surrealdb.stratum.internal inside the VPC. Chosen with `-c selfHosted=true`
// for accounts without Synadia Cloud / SurrealDB Cloud.
func newSelfHosted(stack awscdk.Stack, p *platform) {
	cluster := awsecs.NewCluster(stack, jsii.String("DataCluster"), &awsecs.ClusterProps{
		Vpc:                            p.vpc,
		DefaultCloudMapNamespace:       &awsecs.CloudMapNamespaceOptions{Name: jsii.String(SelfHostedDomain), Vpc: p.vpc},
		EnableFargateCapacityProviders: jsii.Bool(true),
	})
	fs := awsefs.NewFileSystem(stack, jsii.String("Data"), &awsefs.FileSystemProps{
		Vpc:           p.vpc,
		Encrypted:     jsii.Bool(true),
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	sg := awsec2.NewSecurityGroup(stack, jsii.String("DataServices"), &awsec2.SecurityGroupProps{Vpc: p.vpc,
		Description: jsii.String("NATS and SurrealDB: reachable from inside the VPC only")})
	sg.AddIngressRule(awsec2.Peer_Ipv4(p.vpc.VpcCidrBlock()), awsec2.Port_Tcp(jsii.Number(4222)), jsii.String("NATS clients"), nil)
	sg.AddIngressRule(awsec2.Peer_Ipv4(p.vpc.VpcCidrBlock()), awsec2.Port_Tcp(jsii.Number(8000)), jsii.String("SurrealDB RPC"), nil)
	fs.Connections().AllowDefaultPortFrom(sg, jsii.String("services mount their data"))

	service := func(name, image string, port float64, command []string, secrets map[string]awsecs.Secret) {
		access := fs.AddAccessPoint(jsii.String(name+"-data"), &awsefs.AccessPointOptions{
			Path:      jsii.String("/" + name),
			CreateAcl: &awsefs.Acl{OwnerUid: jsii.String("1000"), OwnerGid: jsii.String("1000"), Permissions: jsii.String("750")},
			PosixUser: &awsefs.PosixUser{Uid: jsii.String("1000"), Gid: jsii.String("1000")},
		})
		task := awsecs.NewFargateTaskDefinition(stack, jsii.String(name+"-task"), &awsecs.FargateTaskDefinitionProps{
			Cpu: jsii.Number(512), MemoryLimitMiB: jsii.Number(1024),
			Volumes: &[]*awsecs.Volume{{Name: jsii.String("data"), EfsVolumeConfiguration: &awsecs.EfsVolumeConfiguration{
				FileSystemId: fs.FileSystemId(), TransitEncryption: jsii.String("ENABLED"),
				AuthorizationConfig: &awsecs.AuthorizationConfig{AccessPointId: access.AccessPointId(), Iam: jsii.String("ENABLED")},
			}}},
		})
		fs.GrantReadWrite(task.TaskRole())
		logs := awslogs.NewLogGroup(stack, jsii.String(name+"-logs"), &awslogs.LogGroupProps{
			Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY})
		container := task.AddContainer(jsii.String(name), &awsecs.ContainerDefinitionOptions{
			Image:        awsecs.ContainerImage_FromRegistry(jsii.String(image), nil),
			Command:      jsii.Strings(command...),
			Secrets:      &secrets,
			PortMappings: &[]*awsecs.PortMapping{{ContainerPort: jsii.Number(port)}},
			Logging:      awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{StreamPrefix: jsii.String(name), LogGroup: logs}),
		})
		container.AddMountPoints(&awsecs.MountPoint{SourceVolume: jsii.String("data"), ContainerPath: jsii.String("/data"), ReadOnly: jsii.Bool(false)})
		awsecs.NewFargateService(stack, jsii.String(name+"-service"), &awsecs.FargateServiceProps{
			Cluster: cluster, TaskDefinition: task, DesiredCount: jsii.Number(1), AssignPublicIp: jsii.Bool(true),
			// One writer per data directory: stop the old task before starting the new one.
			MinHealthyPercent: jsii.Number(0), MaxHealthyPercent: jsii.Number(100),
			SecurityGroups:  &[]awsec2.ISecurityGroup{sg},
			CloudMapOptions: &awsecs.CloudMapOptions{Name: jsii.String(name), DnsRecordType: awsservicediscovery.DnsRecordType_A},
		})
	}
	service("nats", "nats:2.11-alpine", 4222, []string{"-js", "-sd", "/data"}, map[string]awsecs.Secret{})
	service("surrealdb", "surrealdb/surrealdb:v3.0.2", 8000,
		[]string{"start", "--bind", "0.0.0.0:8000", "--user", "root", "rocksdb:///data/db"},
		map[string]awsecs.Secret{"SURREAL_PASS": awsecs.Secret_FromSecretsManager(p.surrealSecret, jsii.String("pass"))})
}
