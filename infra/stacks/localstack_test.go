package stacks_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/stratumiops/stratumiops/infra/stacks"
	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

type compose struct {
	Services map[string]struct {
		Image       string            `yaml:"image"`
		Environment map[string]string `yaml:"environment"`
		Ports       []string          `yaml:"ports"`
		Command     []string          `yaml:"command"`
	} `yaml:"services"`
}

// The compose file parses and runs what the LocalStack-targeted stacks need:
// the AWS services they use, and SurrealDB and NATS under the names the
// LocalStack secrets point at.
func TestComposeServesWhatTheStacksExpect(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "localstack", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c compose
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(false)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	for _, svc := range []string{"localstack", "surrealdb", "nats"} {
		if c.Services[svc].Image == "" {
			t.Errorf("service %s missing", svc)
		}
	}
	if cmd := c.Services["surrealdb"].Command; !strings.HasPrefix(cmd[len(cmd)-1], "rocksdb://") {
		t.Errorf("SurrealDB must store on rocksdb:// (surrealkv loses concurrent updates), runs %v", cmd)
	}
	services := strings.Split(c.Services["localstack"].Environment["SERVICES"], ",")
	s := synth(t, func() stacks.Config { c := stacks.FromCatalog(""); c.LocalStack = true; return c }())
	needed := map[string]string{"lambda": "AWS::Lambda::", "apigateway": "AWS::ApiGatewayV2::", "kms": "AWS::KMS::",
		"secretsmanager": "AWS::SecretsManager::", "iam": "AWS::IAM::", "logs": "AWS::Logs::", "sqs": "AWS::SQS::", "events": "AWS::Events::", "s3": "AWS::S3::"}
	for svc, prefix := range needed {
		used := false
		for _, tpl := range s.templates {
			for _, r := range tpl["Resources"].(map[string]any) {
				used = used || strings.HasPrefix(r.(map[string]any)["Type"].(string), prefix)
			}
		}
		if used && !slices.Contains(services, svc) {
			t.Errorf("the stacks use %s but LocalStack does not run it (SERVICES=%v)", prefix, services)
		}
	}
	if !slices.Contains(services, "cloudformation") {
		t.Error("cdklocal deploys through CloudFormation")
	}
	env := ""
	for _, tpl := range s.templates {
		for _, fn := range resources(tpl, "AWS::Lambda::Function") {
			raw, _ := json.Marshal(props(fn)["Environment"])
			env += string(raw)
		}
	}
	for _, host := range []string{"surrealdb:8000", "nats:4222"} {
		if !strings.Contains(env, host) {
			t.Errorf("no function points at the compose service %s", host)
		}
	}
}

// The e2e suite's LocalStack target finds every API from an outputs file shaped
// like `cdk deploy --outputs-file`, using the output names the stacks declare.
func TestE2ETargetResolvesFromStackOutputs(t *testing.T) {
	cfg := stacks.FromCatalog("")
	cfg.LocalStack = true
	s := synth(t, cfg)
	outputs := map[string]map[string]string{}
	for stack, tpl := range s.templates {
		outs, _ := tpl["Outputs"].(map[string]any)
		for name := range outs {
			if outputs[stack] == nil {
				outputs[stack] = map[string]string{}
			}
			outputs[stack][name] = "https://" + strings.ToLower(stack) + ".execute-api.localhost.localstack.cloud:4566/"
		}
	}
	path := filepath.Join(t.TempDir(), "outputs.json")
	raw, _ := json.Marshal(outputs)
	must(t, os.WriteFile(path, raw, 0o644))
	ep, err := devstack.EndpointsFromCDKOutputs(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, sys := range catalog.Systems {
		for _, f := range catalog.OfSystem(sys.Name) {
			if f.Kind == catalog.HTTP && !strings.HasPrefix(ep.Gateways[sys.Name], "https://") {
				t.Errorf("no gateway for %s: %v", sys.Name, ep.Gateways)
			}
		}
	}
	if ep.Invoke != devstack.LocalStackEndpoint || ep.NATS == "" {
		t.Errorf("endpoints %+v", ep)
	}
	delete(outputs, "StratumPortfolio")
	raw, _ = json.Marshal(outputs)
	must(t, os.WriteFile(path, raw, 0o644))
	if _, err := devstack.EndpointsFromCDKOutputs(path); err == nil || !strings.Contains(err.Error(), "StratumPortfolio.ApiUrl") {
		t.Fatalf("missing output: %v", err)
	}
}
