package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// webSocket is a system's deployed WebSocket API and its one stage.
type webSocket struct {
	spec  catalog.WebSocket
	api   awsapigatewayv2.WebSocketApi
	stage awsapigatewayv2.WebSocketStage
}

// wsEndpointVar is the variable through which a system's functions learn its
// WebSocket API's management endpoint (catalog Env, empty there).
func wsEndpointVar(system string) string { return strings.ToUpper(system) + "_WS_ENDPOINT" }

// newWebSocket deploys ws: one Lambda integration (its function) for
// $connect, $disconnect and $default. $default returns the function's answer
// to the connection (a route response, selection "$default": the function
// answers subscribe and ping with a proxy response whose body goes back);
// $connect's status accepts or refuses the connection. The stage is named
// after the catalog path ("/ws" → "ws"), so that CloudFront forwarding the
// page's /ws unchanged reaches it, as the devstack serves it at /ws.
func newWebSocket(stack awscdk.Stack, cfg Config, ws catalog.WebSocket, all map[string]awslambda.Function) *webSocket {
	// One integration (one AWS_PROXY integration, one invoke permission)
	// serves the three routes.
	integration := awsapigatewayv2integrations.NewWebSocketLambdaIntegration(jsii.String(ws.Function+"-ws-integration"), all[ws.Function], nil)
	api := awsapigatewayv2.NewWebSocketApi(stack, jsii.String("WebSocketApi-"+ws.Function), &awsapigatewayv2.WebSocketApiProps{
		ApiName:                jsii.String(cfg.resourceName("-", ws.Function)),
		Description:            jsii.String("StratumIOps " + ws.System + " WebSocket API (" + ws.Path + ")"),
		ConnectRouteOptions:    &awsapigatewayv2.WebSocketRouteOptions{Integration: integration},
		DisconnectRouteOptions: &awsapigatewayv2.WebSocketRouteOptions{Integration: integration},
		DefaultRouteOptions:    &awsapigatewayv2.WebSocketRouteOptions{Integration: integration, ReturnResponse: jsii.Bool(true)},
	})
	stage := awsapigatewayv2.NewWebSocketStage(stack, jsii.String("WebSocketStage-"+ws.Function), &awsapigatewayv2.WebSocketStageProps{
		WebSocketApi: api,
		StageName:    jsii.String(strings.Trim(ws.Path, "/")),
		AutoDeploy:   jsii.Bool(true),
		Throttle: &awsapigatewayv2.ThrottleSettings{
			RateLimit: jsii.Number(cmpOr(cfg.ThrottleRate, 100)), BurstLimit: jsii.Number(cmpOr(cfg.ThrottleBurst, 200)),
		},
	})
	cdknag.NagSuppressions_AddResourceSuppressions(stage, &[]*cdknag.NagPackSuppression{{Id: jsii.String("AwsSolutions-APIG1"),
		Reason: jsii.String("WebSocket access logs need the account-wide API Gateway CloudWatch role (AWS::ApiGateway::Account), a singleton this app " +
			"must not take over; the integration logs every $connect, $default and $disconnect as JSON with its connection id")}}, jsii.Bool(true))
	awscdk.NewCfnOutput(stack, jsii.String("WebSocketUrl"), &awscdk.CfnOutputProps{Value: stage.Url(),
		Description: jsii.String("The " + ws.System + " WebSocket API (behind the page's distribution at " + ws.Path + ")")})
	return &webSocket{spec: ws, api: api, stage: stage}
}

// grantPush gives the functions of ws's system that declare the endpoint
// variable the stage's management endpoint and the right to post to its
// connections, and nothing more (no DELETE, no other API or stage).
func grantPush(stack awscdk.Stack, ws *webSocket, fns []catalog.Function, all map[string]awslambda.Function) {
	for _, f := range fns {
		if _, ok := f.Env[wsEndpointVar(ws.spec.System)]; !ok {
			continue
		}
		fn := all[f.Name]
		fn.AddEnvironment(jsii.String(wsEndpointVar(ws.spec.System)), ws.stage.CallbackUrl(), nil)
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("execute-api:ManageConnections"),
			Resources: jsii.Strings(*stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String("execute-api"),
				Resource: ws.api.ApiId(), ResourceName: jsii.String(strings.Trim(ws.spec.Path, "/") + "/POST/@connections/*")})),
		}))
	}
}

// watchWebSocket alarms when the stage fails to run its integration or the
// integration fails (the function's own errors alarm separately), and when
// the integration's p99 latency passes 5 s.
func watchWebSocket(stack awscdk.Stack, ws *webSocket, topic awssns.ITopic) {
	metric := func(name, stat string) awscloudwatch.IMetric {
		return ws.api.Metric(jsii.String(name), &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String(stat),
			DimensionsMap: &map[string]*string{"ApiId": ws.api.ApiId(), "Stage": jsii.String(strings.Trim(ws.spec.Path, "/"))}})
	}
	alarm(stack, ws.spec.Function+"-ws-execution-errors", metric("ExecutionError", "Sum"), 1, 1, false,
		ws.spec.Function+": the WebSocket API failed to call its integration", topic)
	alarm(stack, ws.spec.Function+"-ws-integration-errors", metric("IntegrationError", "Sum"), 1, 1, false,
		ws.spec.Function+": the WebSocket integration answered an error", topic)
	alarm(stack, ws.spec.Function+"-ws-latency", metric("IntegrationLatency", "p99"), 5_000, 3, false,
		ws.spec.Function+": WebSocket integration p99 latency above 5 s", topic)
}
