package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// newNetwork is the VPC. Managed mode: public subnets only, for the
// dispatcher, which reaches the managed NATS and the Lambda API directly.
// Self-hosted mode adds private subnets (one NAT gateway, for the container
// images and outside services) where NATS, SurrealDB, the dispatcher and every
// function that uses them run without public addresses, with interface
// endpoints for the AWS APIs they call (Secrets Manager, KMS, Lambda) and an
// S3 gateway endpoint (ECR image layers).
func newNetwork(stack awscdk.Stack, cfg Config, p *platform) {
	subnets := []*awsec2.SubnetConfiguration{
		{Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(24)},
	}
	nat := 0.0
	if cfg.SelfHosted {
		subnets = append(subnets, &awsec2.SubnetConfiguration{Name: jsii.String("private"),
			SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(22)})
		nat = 1
	}
	flowLogs := awslogs.NewLogGroup(stack, jsii.String("FlowLogs"), &awslogs.LogGroupProps{
		Retention: awslogs.RetentionDays_ONE_MONTH, RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	p.vpc = awsec2.NewVpc(stack, jsii.String("Network"), &awsec2.VpcProps{
		MaxAzs:              jsii.Number(2),
		NatGateways:         jsii.Number(nat),
		SubnetConfiguration: &subnets,
		FlowLogs: &map[string]*awsec2.FlowLogOptions{
			"rejected": {TrafficType: awsec2.FlowLogTrafficType_REJECT,
				Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(flowLogs, nil)},
		},
	})
	if !cfg.SelfHosted {
		return
	}
	p.clients = awsec2.NewSecurityGroup(stack, jsii.String("DataClients"), &awsec2.SecurityGroupProps{Vpc: p.vpc,
		Description: jsii.String("Functions and the dispatcher: may reach the self-hosted NATS and SurrealDB")})
	private := &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
	for id, svc := range map[string]awsec2.InterfaceVpcEndpointAwsService{
		"SecretsManagerEndpoint": awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER(),
		"KmsEndpoint":            awsec2.InterfaceVpcEndpointAwsService_KMS(),
		"LambdaEndpoint":         awsec2.InterfaceVpcEndpointAwsService_LAMBDA(),
	} {
		ep := p.vpc.AddInterfaceEndpoint(jsii.String(id), &awsec2.InterfaceVpcEndpointOptions{
			Service: svc, Subnets: private, PrivateDnsEnabled: jsii.Bool(true),
			Open: jsii.Bool(false), // HTTPS from the DataClients group only, not the whole VPC
		})
		ep.Connections().AllowDefaultPortFrom(p.clients, jsii.String("functions and the dispatcher call the AWS API"))
	}
	p.vpc.AddGatewayEndpoint(jsii.String("S3Endpoint"), &awsec2.GatewayVpcEndpointOptions{
		Service: awsec2.GatewayVpcEndpointAwsService_S3(),
	})
}
