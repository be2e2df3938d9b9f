package stacks_test

import (
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/dispatcher"
)

// The dispatcher's lag log lines become the consumer-lag metric (by
// consumer), an alarm on the total, and the dispatcher service scales on
// it between two and six tasks (26 items 5 and 9).
func TestDispatcherScalesOnConsumerLag(t *testing.T) {
	s := synth(t, vaultLike())
	tpl := s.templates["StratumDispatcher"]
	var filter map[string]any
	for _, f := range resources(tpl, "AWS::Logs::MetricFilter") {
		if strings.Contains(raw(props(f)["FilterPattern"]), dispatcher.LagMessage) {
			filter = props(f)
		}
	}
	if filter == nil {
		t.Fatal("no metric filter on the dispatcher's lag lines")
	}
	if tr := raw(filter["MetricTransformations"]); !strings.Contains(tr, `"MetricValue":"$.pending"`) ||
		!strings.Contains(tr, `"Key":"Consumer","Value":"$.consumer"`) || !strings.Contains(tr, "stratum-consumer-lag") {
		t.Errorf("lag metric: %s", tr)
	}
	alarmed := false
	for _, a := range resources(tpl, "AWS::CloudWatch::Alarm") {
		p := raw(props(a))
		if strings.Contains(p, `"MetricName":"stratum-consumer-lag"`) && strings.Contains(p, dispatcher.LagTotal) {
			alarmed = true
		}
	}
	if !alarmed {
		t.Error("no alarm on the total consumer lag")
	}
	targets := resources(tpl, "AWS::ApplicationAutoScaling::ScalableTarget")
	if len(targets) != 1 {
		t.Fatalf("want one scalable target, got %d", len(targets))
	}
	for _, tg := range targets {
		p := props(tg)
		if p["MinCapacity"] != float64(2) || p["MaxCapacity"] != float64(6) || p["ScalableDimension"] != "ecs:service:DesiredCount" {
			t.Errorf("scalable target %s", raw(p))
		}
	}
	policies := resources(tpl, "AWS::ApplicationAutoScaling::ScalingPolicy")
	var up, down bool
	for _, pol := range policies {
		steps := raw(props(pol)["StepScalingPolicyConfiguration"])
		up = up || strings.Contains(steps, `"ScalingAdjustment":1`)
		down = down || strings.Contains(steps, `"ScalingAdjustment":-1`)
	}
	if !up || !down {
		t.Errorf("step scaling on lag should add and remove tasks: %s", raw(policies))
	}
}
