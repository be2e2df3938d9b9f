package stacks_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/infra/stacks"
)

func raw(v any) string { b, _ := json.Marshal(v); return string(b) }

func allOf(s synthesized, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for name, tpl := range s.templates {
		for id, r := range resources(tpl, typ) {
			out[name+"/"+id] = r
		}
	}
	return out
}

// Issue 26 in the managed mode (SurrealDB Cloud, Synadia Cloud): what a first
// deploy needs, alarms, resilience of schedules, the edge and the keys.
func TestOperableManaged(t *testing.T) {
	s := synth(t, vaultLike())
	platform := s.templates["StratumPlatform"]

	// Managed credentials have no generator (a redeploy keeps what a person
	// entered); each secret has a name and an output.
	for id, sec := range resources(platform, "AWS::SecretsManager::Secret") {
		p := props(sec)
		name, _ := p["Name"].(string)
		if !strings.HasPrefix(name, "stratum/") {
			t.Errorf("secret %s: name %v", id, p["Name"])
		}
		// The functions' own SurrealDB users are the stack's to generate
		// (once, at creation): root defines them with those passwords.
		if (strings.Contains(id, "Surreal") && !strings.HasPrefix(id, "SurrealUser")) || strings.Contains(id, "Nats") {
			if p["GenerateSecretString"] != nil || strings.Contains(raw(p["SecretString"]), "example.invalid") {
				t.Errorf("managed secret %s: %s", id, raw(p))
			}
		}
	}
	outputs := raw(platform["Outputs"])
	for _, o := range []string{"SurrealCredentialsName", "NatsCredentialsName", "ApiAuthName", "AlarmTopicArn", "VaultUnsealKeyArn"} {
		if !strings.Contains(outputs, o) {
			t.Errorf("no output %s", o)
		}
	}
	// Functions outside a VPC reach the managed services; URLs are plain env.
	for id, fn := range allOf(s, "AWS::Lambda::Function") {
		p := props(fn)
		if p["VpcConfig"] != nil {
			t.Errorf("%s: VpcConfig in managed mode", id)
		}
		if p["TracingConfig"] == nil || raw(p["TracingConfig"]) != `{"Mode":"Active"}` {
			t.Errorf("%s: tracing %v", id, p["TracingConfig"])
		}
		env := raw(p["Environment"])
		if strings.Contains(env, "SURREAL_SECRET_ARN") && !strings.Contains(env, `"SURREAL_URL":"wss://db"`) {
			t.Errorf("%s: %s", id, env)
		}
	}
	checkAlarms(t, s)
	checkSchedulesAndEdge(t, s)
	checkUnsealGrant(t, s)

	// Disaster recovery: aliases kept, platform protected.
	for id, a := range resources(platform, "AWS::KMS::Alias") {
		if a["DeletionPolicy"] != "Retain" {
			t.Errorf("alias %s not retained", id)
		}
	}
	if !*s.stacks.Platform.TerminationProtection() {
		t.Error("StratumPlatform has no termination protection")
	}
	// The dispatcher: two tasks, a health check, container insights, a public
	// address only because managed mode has no NAT.
	d := s.templates["StratumDispatcher"]
	for _, svc := range resources(d, "AWS::ECS::Service") {
		if props(svc)["DesiredCount"] != float64(2) {
			t.Errorf("dispatcher tasks: %v", props(svc)["DesiredCount"])
		}
	}
	for _, td := range resources(d, "AWS::ECS::TaskDefinition") {
		c := props(td)["ContainerDefinitions"].([]any)[0].(map[string]any)
		if !strings.Contains(raw(c["HealthCheck"]), "--probe") || !strings.Contains(raw(c["Secrets"]), "NATS_CREDS") {
			t.Errorf("dispatcher container: %s", raw(c))
		}
	}
	if !strings.Contains(raw(resources(d, "AWS::ECS::Cluster")), `"Value":"enabled"`) {
		t.Errorf("no container insights: %s", raw(resources(d, "AWS::ECS::Cluster")))
	}
	// Tags on everything taggable.
	for id, fn := range allOf(s, "AWS::Lambda::Function") {
		if !strings.Contains(raw(props(fn)["Tags"]), `"Key":"project","Value":"stratumiops"`) {
			t.Errorf("%s untagged: %v", id, props(fn)["Tags"])
		}
	}
}

func checkAlarms(t *testing.T, s synthesized) {
	t.Helper()
	alarms := allOf(s, "AWS::CloudWatch::Alarm")
	has := func(metric, dimension string) bool {
		for _, a := range alarms {
			p := props(a)
			if p["MetricName"] == metric && strings.Contains(raw(p["Dimensions"]), dimension) && len(p["AlarmActions"].([]any)) == 1 {
				return true
			}
		}
		return false
	}
	for _, tpl := range s.templates {
		for id := range resources(tpl, "AWS::Lambda::Function") {
			for _, m := range []string{"Errors", "Throttles", "Duration"} {
				if !has(m, id) {
					t.Errorf("no %s alarm on %s", m, id)
				}
			}
		}
		for id := range resources(tpl, "AWS::ApiGatewayV2::Api") {
			if !has("5xx", id) || !has("Latency", id) {
				t.Errorf("API %s: no 5xx or latency alarm", id)
			}
		}
		for id := range resources(tpl, "AWS::SQS::Queue") {
			if !has("ApproximateNumberOfMessagesVisible", id) {
				t.Errorf("queue %s: no depth alarm", id)
			}
		}
	}
	if !has("RunningTaskCount", "ServiceName") {
		t.Error("no alarm on the dispatcher's running tasks")
	}
	filters := raw(allOf(s, "AWS::Logs::MetricFilter"))
	if !strings.Contains(filters, `dead-lettered`) || !has("stratum-dead-lettered", "") {
		t.Errorf("no dead-letter metric filter and alarm: %s", filters)
	}
	// 26 item 7: an unavailable dependency is not an attempt; sustained, it alarms.
	if !strings.Contains(filters, "unavailable; not counted as an attempt") || !has("stratum-consumer-unavailable", "") {
		t.Errorf("no metric filter and alarm on consumers waiting for an unavailable dependency: %s", filters)
	}
	var dashboards []string
	for id := range allOf(s, "AWS::CloudWatch::Dashboard") {
		dashboards = append(dashboards, strings.Split(id, "/")[0])
	}
	slices.Sort(dashboards)
	if fmt.Sprint(dashboards) != "[StratumPortfolio StratumVault]" {
		t.Errorf("dashboards in %v", dashboards)
	}
}

func checkSchedulesAndEdge(t *testing.T, s synthesized) {
	t.Helper()
	vault := s.templates["StratumVault"]
	configs := resources(vault, "AWS::Lambda::EventInvokeConfig")
	if len(configs) != 1 {
		t.Fatalf("%d EventInvokeConfigs, want the schedule's", len(configs))
	}
	for _, c := range configs {
		p := props(c)
		if p["MaximumRetryAttempts"] != float64(0) || p["MaximumEventAgeInSeconds"] != float64(60) ||
			!strings.Contains(raw(p["DestinationConfig"]), "ScheduleDeadLetters") {
			t.Errorf("schedule invoke config: %s", raw(p))
		}
	}
	for id, st := range allOf(s, "AWS::ApiGatewayV2::Stage") {
		p := props(st)
		if raw(p["DefaultRouteSettings"]) != `{"DetailedMetricsEnabled":false,"ThrottlingBurstLimit":200,"ThrottlingRateLimit":100}` {
			t.Errorf("%s throttling: %s", id, raw(p["DefaultRouteSettings"]))
		}
		var format map[string]any
		al, _ := p["AccessLogSettings"].(map[string]any)
		if al == nil || json.Unmarshal([]byte(al["Format"].(string)), &format) != nil || format["status"] == nil {
			t.Errorf("%s: access logs %v", id, p["AccessLogSettings"])
		}
	}
}

// vault-crypto may Encrypt and Decrypt with the unseal key under the vault's
// encryption contexts, nothing else.
func checkUnsealGrant(t *testing.T, s synthesized) {
	t.Helper()
	found := false
	for _, st := range statements(s) {
		if !hasAction(st, "kms:") {
			continue
		}
		found = true
		acts := slices.Clone(st.Actions)
		slices.Sort(acts)
		if fmt.Sprint(acts) != "[kms:Decrypt kms:Encrypt]" ||
			raw(st.Condition) != `{"StringEquals":{"kms:EncryptionContext:purpose":["secretumvault-root-key","secretumvault-unseal-share"]}}` {
			t.Errorf("kms grant %v %s", acts, raw(st.Condition))
		}
	}
	if !found {
		t.Error("no kms grant")
	}
}

// Issue 26 in the self-hosted mode: private subnets, endpoints, no public
// addresses, NATS with a token, EFS backed up; plus a stage and an adopted key.
func TestOperableSelfHosted(t *testing.T) {
	cfg := vaultLike()
	cfg.SelfHosted = true
	cfg.SurrealURL, cfg.NATSURL = stacks.SelfHostedSurrealURL, stacks.SelfHostedNATSURL
	cfg.Stage = "qa"
	cfg.NoReservedConcurrency = true
	cfg.UnsealKeyArn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	s := synth(t, cfg)
	platform := s.templates["StratumQaPlatform"]
	if platform == nil {
		t.Fatalf("stacks: %v", sortedKeys(func() map[string]bool {
			m := map[string]bool{}
			for k := range s.templates {
				m[k] = true
			}
			return m
		}()))
	}
	var endpoints []string
	for _, ep := range resources(platform, "AWS::EC2::VPCEndpoint") {
		endpoints = append(endpoints, raw(props(ep)["ServiceName"]))
	}
	for _, svc := range []string{"secretsmanager", "kms", "lambda", "s3"} {
		if !strings.Contains(strings.Join(endpoints, " "), "."+svc) {
			t.Errorf("no %s endpoint in %v", svc, endpoints)
		}
	}
	for id, fn := range allOf(s, "AWS::Lambda::Function") {
		p := props(fn)
		name := p["FunctionName"].(string)
		if !strings.HasPrefix(name, "stratum-qa-") {
			t.Errorf("%s: name %s without the stage", id, name)
		}
		env := raw(p["Environment"])
		needs := strings.Contains(env, "SURREAL_SECRET_ARN") || strings.Contains(env, "NATS_SECRET_ARN")
		vpc, _ := p["VpcConfig"].(map[string]any)
		if needs && (vpc == nil || vpc["SubnetIds"] == nil || vpc["SecurityGroupIds"] == nil) {
			t.Errorf("%s uses NATS or SurrealDB but is not in the VPC: %v", name, p["VpcConfig"])
		}
		if p["ReservedConcurrentExecutions"] != nil {
			t.Errorf("%s: reserved concurrency with NoReservedConcurrency", name)
		}
	}
	for id, svc := range allOf(s, "AWS::ECS::Service") {
		if !strings.Contains(raw(props(svc)["NetworkConfiguration"]), `"AssignPublicIp":"DISABLED"`) {
			t.Errorf("%s: public IP: %s", id, raw(props(svc)["NetworkConfiguration"]))
		}
	}
	tasks := raw(resources(platform, "AWS::ECS::TaskDefinition"))
	for _, want := range []string{"authorization { token: $NATS_TOKEN }", `"CpuArchitecture":"ARM64"`, "--web-crt"} {
		if !strings.Contains(tasks, want) {
			t.Errorf("self-hosted tasks lack %q", want)
		}
	}
	for id, fs := range resources(platform, "AWS::EFS::FileSystem") {
		if raw(props(fs)["BackupPolicy"]) != `{"Status":"ENABLED"}` {
			t.Errorf("EFS %s backups: %v", id, props(fs)["BackupPolicy"])
		}
	}
	// The adopted key: no new unseal key, vault-crypto uses the given ARN.
	if n := len(resources(platform, "AWS::KMS::Key")); n != 1 {
		t.Errorf("%d KMS keys, want only the app-secrets key", n)
	}
	if !strings.Contains(raw(s.templates["StratumQaVault"]), cfg.UnsealKeyArn) {
		t.Error("vault-crypto does not use the adopted key")
	}
	names := raw(resources(platform, "AWS::SecretsManager::Secret")) + raw(resources(platform, "AWS::KMS::Alias"))
	for _, want := range []string{"stratum/qa/surreal", "alias/stratum/qa/app-secrets"} {
		if !strings.Contains(names, want) {
			t.Errorf("no %s", want)
		}
	}
}
