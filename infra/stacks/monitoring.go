package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/dispatcher"
)

// MetricsNamespace holds the metrics the stacks derive from logs.
const MetricsNamespace = "StratumIOps"

// newAlarmTopic is where every alarm goes; -c alarmEmail=… subscribes a person.
func newAlarmTopic(stack awscdk.Stack, cfg Config) awssns.Topic {
	topic := awssns.NewTopic(stack, jsii.String("Alarms"), &awssns.TopicProps{
		TopicName:   jsii.String(cfg.resourceName("-", "alarms")),
		DisplayName: jsii.String("StratumIOps alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if cfg.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(cfg.AlarmEmail), nil))
	}
	awscdk.NewCfnOutput(stack, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{Value: topic.TopicArn(),
		Description: jsii.String("Subscribe to it (email, chat, pager) to hear of every alarm")})
	return topic
}

// alarm raises when metric reaches threshold (or falls below it, with below)
// in `periods` consecutive five-minute periods, and tells the topic.
func alarm(scope awscdk.Stack, id string, metric awscloudwatch.IMetric, threshold float64, periods float64, below bool,
	description string, topic awssns.ITopic) awscloudwatch.Alarm {
	op, missing := awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD, awscloudwatch.TreatMissingData_NOT_BREACHING
	if below {
		op, missing = awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, awscloudwatch.TreatMissingData_BREACHING
	}
	a := awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric: metric, Threshold: jsii.Number(threshold), EvaluationPeriods: jsii.Number(periods),
		ComparisonOperator: op, TreatMissingData: missing, AlarmDescription: jsii.String(description),
	})
	a.AddAlarmAction(awscloudwatchactions.NewSnsAction(topic))
	a.AddOkAction(awscloudwatchactions.NewSnsAction(topic))
	return a
}

var fiveMinutes = awscdk.Duration_Minutes(jsii.Number(5))

// watchSystem alarms on each function's errors, throttles and p99 duration
// (80 % of its timeout), the API's 5xx and p99 latency, and any failed
// scheduled run; and draws the system's dashboard.
func watchSystem(stack awscdk.Stack, cfg Config, sys catalog.System, fns []catalog.Function, all map[string]awslambda.Function,
	api awsapigatewayv2.HttpApi, deadLetters awssqs.Queue, topic awssns.ITopic) {
	dash := awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String(cfg.resourceName("-", sys.Name))})
	stat := func(s string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String(s)}
	}
	for _, f := range fns {
		fn := all[f.Name]
		alarm(stack, f.Name+"-errors", fn.MetricErrors(stat("Sum")), 1, 1, false, f.Name+" returned errors", topic)
		alarm(stack, f.Name+"-throttles", fn.MetricThrottles(stat("Sum")), 1, 1, false, f.Name+" was throttled", topic)
		alarm(stack, f.Name+"-duration", fn.MetricDuration(stat("p99")), f.Timeout.Seconds()*1000*0.8, 3, false,
			f.Name+": p99 duration above 80 % of its timeout", topic)
		dash.AddWidgets(
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(f.Name + " invocations, errors, throttles"),
				Left: &[]awscloudwatch.IMetric{fn.MetricInvocations(stat("Sum")), fn.MetricErrors(stat("Sum")), fn.MetricThrottles(stat("Sum"))}}),
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(f.Name + " duration p50/p99"),
				Left: &[]awscloudwatch.IMetric{fn.MetricDuration(stat("p50")), fn.MetricDuration(stat("p99"))}}),
		)
	}
	if api != nil {
		alarm(stack, "api-5xx", api.MetricServerError(stat("Sum")), 1, 1, false, sys.Name+" API answered 5xx", topic)
		alarm(stack, "api-latency", api.MetricLatency(stat("p99")), 10_000, 3, false, sys.Name+" API p99 latency above 10 s", topic)
		dash.AddWidgets(
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(sys.Name + " API requests, 4xx, 5xx"),
				Left: &[]awscloudwatch.IMetric{api.MetricCount(stat("Sum")), api.MetricClientError(stat("Sum")), api.MetricServerError(stat("Sum"))}}),
			awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(sys.Name + " API latency p50/p99"),
				Left: &[]awscloudwatch.IMetric{api.MetricLatency(stat("p50")), api.MetricLatency(stat("p99"))}}),
		)
	}
	if deadLetters != nil {
		depth := deadLetters.MetricApproximateNumberOfMessagesVisible(stat("Maximum"))
		alarm(stack, "schedule-dead-letters", depth, 1, 1, false, sys.Name+": a scheduled run failed (see the ScheduleDeadLetters queue)", topic)
		dash.AddWidgets(awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(sys.Name + " failed scheduled runs"), Left: &[]awscloudwatch.IMetric{depth}}))
	}
}

// watchDispatcher alarms when no dispatcher task runs, when a message is
// dead-lettered and when consumers keep finding a dependency unavailable
// (metric filters on the dispatcher's JSON log).
func watchDispatcher(stack awscdk.Stack, cfg Config, cluster awsecs.Cluster, service awsecs.FargateService,
	logs awslogs.LogGroup, topic awssns.ITopic) {
	running := awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String("ECS/ContainerInsights"), MetricName: jsii.String("RunningTaskCount"),
		DimensionsMap: &map[string]*string{"ClusterName": cluster.ClusterName(), "ServiceName": service.ServiceName()},
		Statistic:     jsii.String("Minimum"), Period: awscdk.Duration_Minutes(jsii.Number(1)),
	})
	alarm(stack, "dispatcher-running", running, 1, 2, true, "No dispatcher task is running: events wait in JetStream", topic)
	deadLettered := logs.AddMetricFilter(jsii.String("DeadLettered"), &awslogs.MetricFilterOptions{
		FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.msg"), jsii.String("="), jsii.String("dead-lettered")),
		MetricNamespace: jsii.String(MetricsNamespace), MetricName: jsii.String(cfg.resourceName("-", "dead-lettered")),
		MetricValue: jsii.String("1"), DefaultValue: jsii.Number(0),
	})
	alarm(stack, "dead-lettered", deadLettered.Metric(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")}),
		1, 1, false, "A consumer dead-lettered an event: stratum deadletter list", topic)
	watchLag(stack, cfg, service, logs, topic)
	// A dependency that is down or throttling (SurrealDB, Lambda) is not an
	// attempt: its events wait, coming back every few minutes for up to 24 h.
	unavailable := logs.AddMetricFilter(jsii.String("Unavailable"), &awslogs.MetricFilterOptions{
		FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.msg"), jsii.String("="), jsii.String("unavailable; not counted as an attempt")),
		MetricNamespace: jsii.String(MetricsNamespace), MetricName: jsii.String(cfg.resourceName("-", "consumer-unavailable")),
		MetricValue: jsii.String("1"), DefaultValue: jsii.Number(0),
	})
	alarm(stack, "consumer-unavailable", unavailable.Metric(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")}),
		1, 3, false, "Consumers have found a dependency unavailable for 15 minutes: their events wait (not dead-lettered) until it is back", topic)
}

// watchLag turns the dispatcher's lag log lines (dispatcher.LagMessage, one
// a minute per task and consumer) into the consumer-lag metric (dimension
// Consumer; "_total" sums them), alarms when the total stays above 1 000
// undelivered events for 15 minutes, and scales the dispatcher on it: two
// tasks at least, more while events wait.
func watchLag(stack awscdk.Stack, cfg Config, service awsecs.FargateService, logs awslogs.LogGroup, topic awssns.ITopic) {
	name := cfg.resourceName("-", "consumer-lag")
	logs.AddMetricFilter(jsii.String("ConsumerLag"), &awslogs.MetricFilterOptions{
		FilterPattern:   awslogs.FilterPattern_StringValue(jsii.String("$.msg"), jsii.String("="), jsii.String(dispatcher.LagMessage)),
		MetricNamespace: jsii.String(MetricsNamespace), MetricName: jsii.String(name),
		MetricValue: jsii.String("$.pending"),
		Dimensions:  &map[string]*string{"Consumer": jsii.String("$.consumer")},
		Unit:        awscloudwatch.Unit_COUNT,
	})
	lag := func(period awscdk.Duration) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{Namespace: jsii.String(MetricsNamespace), MetricName: jsii.String(name),
			DimensionsMap: &map[string]*string{"Consumer": jsii.String(dispatcher.LagTotal)}, Statistic: jsii.String("Maximum"), Period: period})
	}
	alarm(stack, "consumer-lag", lag(fiveMinutes), 1000, 3, false,
		"Over 1 000 events have waited for their consumers for 15 minutes (dashboard metric "+name+" by Consumer)", topic)
	scaling := service.AutoScaleTaskCount(&awsapplicationautoscaling.EnableScalingProps{MinCapacity: jsii.Number(2), MaxCapacity: jsii.Number(6)})
	scaling.ScaleOnMetric(jsii.String("ScaleOnLag"), &awsapplicationautoscaling.BasicStepScalingPolicyProps{
		Metric: lag(awscdk.Duration_Minutes(jsii.Number(1))),
		ScalingSteps: &[]*awsapplicationautoscaling.ScalingInterval{
			{Upper: jsii.Number(50), Change: jsii.Number(-1)},
			{Lower: jsii.Number(500), Change: jsii.Number(1)},
			{Lower: jsii.Number(5000), Change: jsii.Number(3)},
		},
		AdjustmentType: awsapplicationautoscaling.AdjustmentType_CHANGE_IN_CAPACITY,
		Cooldown:       awscdk.Duration_Minutes(jsii.Number(3)),
	})
}
