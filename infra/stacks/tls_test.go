package stacks_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/stratumiops/stratumiops/infra/stacks"
	"github.com/stratumiops/stratumiops/shared/platform/pki"
)

// containers returns the platform's ECS container definitions by name.
func containers(t *testing.T, tpl map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, task := range resources(tpl, "AWS::ECS::TaskDefinition") {
		for _, c := range props(task)["ContainerDefinitions"].([]any) {
			m := c.(map[string]any)
			out[m["Name"].(string)] = m
		}
	}
	return out
}

func rawJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// secretRef is the logical id of the secret whose ARN the value refers to.
func secretRef(tpl map[string]any, v any, prefix string) string {
	text, ok := v.(string)
	if !ok {
		text = rawJSON(v)
	}
	for id := range resources(tpl, "AWS::SecretsManager::Secret") {
		if strings.HasPrefix(id, prefix) && strings.Contains(text, `"`+id+`"`) {
			return id
		}
	}
	return ""
}

// checkNATSConfig has the NATS server read the configuration that the
// container's command writes, with the certificate files it writes: TLS
// with that certificate, the token from $NATS_TOKEN, JetStream.
func checkNATSConfig(t *testing.T, command string) {
	t.Helper()
	start, end := strings.Index(command, "printf 'jetstream"), strings.Index(command, "' > /tmp/nats.conf")
	if start < 0 || end < start {
		t.Fatalf("NATS command writes no configuration: %s", command)
	}
	conf := strings.ReplaceAll(command[start+len("printf '"):end], `\n`, "\n")
	dir := t.TempDir()
	ca, err := pki.NewCA("test CA", time.Now())
	must(t, err)
	kp, err := pki.Issue(ca, []string{"nats." + stacks.SelfHostedDomain}, time.Now())
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "cert.pem"), []byte(kp.Cert), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "key.pem"), []byte(kp.Key), 0o600))
	conf = strings.ReplaceAll(conf, "/tmp/tls/", dir+"/")
	path := filepath.Join(dir, "nats.conf")
	must(t, os.WriteFile(path, []byte(conf), 0o600))
	t.Setenv("NATS_TOKEN", "the-token")
	opts, err := server.ProcessConfigFile(path)
	if err != nil {
		t.Fatalf("NATS refuses its configuration %q: %v", conf, err)
	}
	if opts.TLSConfig == nil || len(opts.TLSConfig.Certificates) != 1 || opts.Authorization != "the-token" || !opts.JetStream {
		t.Errorf("NATS configuration %q: TLS %v, token %q, JetStream %v", conf, opts.TLSConfig != nil, opts.Authorization, opts.JetStream)
	}
	if !strings.Contains(command, `printf '%s' "$TLS_KEY" > /tmp/tls/key.pem`) || !strings.HasPrefix(command, "umask 077") {
		t.Errorf("NATS command does not write its key privately: %s", command)
	}
}

// Issue 16 item 12 / issue 26 item 12: the self-hosted NATS and SurrealDB
// speak TLS only, with certificates of the stack's private CA made before
// they start; clients use tls:// and wss:// and trust that CA; the CA's key
// and the servers' keys are read by no one else.
func TestSelfHostedTLS(t *testing.T) {
	cfg := vaultLike()
	cfg.SelfHosted = true
	cfg.SurrealURL, cfg.NATSURL = stacks.SelfHostedSurrealURL, stacks.SelfHostedNATSURL
	s := synth(t, cfg)
	platform := s.templates["StratumPlatform"]
	cs := containers(t, platform)

	nats := cs["nats"]
	checkNATSConfig(t, stringsOf(nats["Command"])[0])
	surreal := cs["surrealdb"]
	cmd := strings.Join(stringsOf(surreal["Command"]), " ")
	if !strings.Contains(cmd, "--web-crt /tls/cert.pem --web-key /tls/key.pem") {
		t.Errorf("SurrealDB without TLS: %s", cmd)
	}
	if surreal["User"] != "1000" || !strings.Contains(rawJSON(surreal["DependsOn"]), `{"Condition":"SUCCESS","ContainerName":"surrealdb-tls"}`) {
		t.Errorf("SurrealDB does not wait for its certificate files: user %v, %v", surreal["User"], surreal["DependsOn"])
	}
	if !strings.Contains(rawJSON(surreal["MountPoints"]), `{"ContainerPath":"/tls","ReadOnly":true,"SourceVolume":"tls"}`) {
		t.Errorf("SurrealDB mounts: %v", surreal["MountPoints"])
	}
	// Each server's certificate and key come from its own TLS secret.
	for name, want := range map[string]string{"nats": "NatsTls", "surrealdb-tls": "SurrealTls"} {
		c := cs[name]
		got := map[string]string{}
		for _, sec := range c["Secrets"].([]any) {
			m := sec.(map[string]any)
			got[m["Name"].(string)] = secretRef(platform, m["ValueFrom"], "")
		}
		if !strings.HasPrefix(got["TLS_CERT"], want) || !strings.HasPrefix(got["TLS_KEY"], want) {
			t.Errorf("%s: TLS secrets %v, want from %s", name, got, want)
		}
	}
	if secrets := rawJSON(surreal["Secrets"]); strings.Contains(secrets, "TLS_KEY") {
		t.Error("the SurrealDB container itself gets the key as a variable; only its init container should")
	}

	// The certificate step runs before both servers start.
	crs := resources(platform, "Custom::SelfHostedTls")
	if len(crs) != 1 {
		t.Fatalf("%d certificate resources", len(crs))
	}
	var crID string
	for id, cr := range crs {
		crID = id
		if props(cr)["Step"] != "certs" || !strings.Contains(rawJSON(props(cr)["Servers"]), "nats.stratum.internal") {
			t.Errorf("certificate resource: %v", props(cr))
		}
	}
	for id, svc := range resources(platform, "AWS::ECS::Service") {
		if !slices.Contains(stringsOf(svc["DependsOn"]), crID) {
			t.Errorf("service %s starts before the certificates (DependsOn %v)", id, svc["DependsOn"])
		}
	}

	// Clients: tls:// and wss://, and the CA from the secrets they already read.
	for _, fn := range resources(s.templates["StratumVault"], "AWS::Lambda::Function") {
		env, _ := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
		if env["SURREAL_SECRET_ARN"] != nil && env["SURREAL_URL"] != "wss://surrealdb.stratum.internal:8000" {
			t.Errorf("SURREAL_URL %v", env["SURREAL_URL"])
		}
		if env["NATS_SECRET_ARN"] != nil && env["NATS_URL"] != "tls://nats.stratum.internal:4222" {
			t.Errorf("NATS_URL %v", env["NATS_URL"])
		}
	}
	dispatcher := containers(t, s.templates["StratumDispatcher"])["dispatcher"]
	if !strings.Contains(rawJSON(dispatcher["Secrets"]), `"Name":"NATS_CA"`) {
		t.Errorf("dispatcher secrets: %v", dispatcher["Secrets"])
	}

	// Least privilege: who may read or write the TLS secrets.
	roles := map[string]string{}
	for id, task := range resources(platform, "AWS::ECS::TaskDefinition") {
		for _, c := range props(task)["ContainerDefinitions"].([]any) {
			if name := c.(map[string]any)["Name"].(string); name == "nats" || name == "surrealdb" {
				ref := props(task)["ExecutionRoleArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
				roles[ref] = name + " execution"
				_ = id
			}
		}
	}
	for id, fn := range resources(platform, "AWS::Lambda::Function") {
		if strings.HasPrefix(id, "SurrealUsers") {
			roles[props(fn)["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)] = "surreal-users"
		}
	}
	allowed := map[string][]string{
		"TlsCa":      {"surreal-users"},
		"NatsTls":    {"surreal-users", "nats execution"},
		"SurrealTls": {"surreal-users", "surrealdb execution"},
	}
	seen := map[string]bool{}
	for _, st := range statements(s) {
		for _, res := range st.Resources {
			for prefix, who := range allowed {
				if secretRef(platform, res, prefix) == "" {
					continue
				}
				for _, role := range st.Roles {
					seen[prefix+" "+roles[role]] = true
					if !slices.Contains(who, roles[role]) {
						t.Errorf("role %s (%s) may %v on %s", role, roles[role], st.Actions, prefix)
					}
				}
				if roles[st.Roles[0]] != "surreal-users" && slices.ContainsFunc(st.Actions, func(a string) bool { return strings.Contains(a, "PutSecretValue") }) {
					t.Errorf("%s may write %s", roles[st.Roles[0]], prefix)
				}
			}
		}
	}
	for _, want := range []string{"TlsCa surreal-users", "NatsTls nats execution", "SurrealTls surrealdb execution", "SurrealTls surreal-users"} {
		if !seen[want] {
			t.Errorf("no grant %q (have %v)", want, seen)
		}
	}
}
