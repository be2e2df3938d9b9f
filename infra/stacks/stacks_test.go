package stacks_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stratumiops/stratumiops/infra/stacks"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// jsii starts one Node runtime per process; closing it once saves ~5 s a test.
func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// fakeDist lays out what `make build` produces, with placeholder binaries.
func fakeDist(t *testing.T, fns []catalog.Function) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range fns {
		must(t, os.MkdirAll(filepath.Join(dir, f.Name), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, f.Name, "bootstrap"), []byte("placeholder "+f.Name), 0o755))
		if f.Image {
			must(t, os.WriteFile(filepath.Join(dir, f.Name, "Dockerfile"), []byte("FROM scratch\n"), 0o644))
		}
	}
	must(t, os.MkdirAll(filepath.Join(dir, stacks.SurrealUsersFunction), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, stacks.SurrealUsersFunction, "bootstrap"), []byte("placeholder"), 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "dispatcher"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "dispatcher", "Dockerfile"), []byte("FROM scratch\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "dispatcher", "dispatcher"), []byte("placeholder"), 0o755))
	return dir
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// vaultLike is a catalog fixture with the vault's trust boundaries: a crypto
// function reachable only by invoke from its own system, holding the KMS key.
func vaultLike() stacks.Config {
	fn := func(name, system string, kind catalog.Kind) catalog.Function {
		return catalog.Function{Name: name, System: system, Kind: kind, MemoryMB: 256, Timeout: 10 * time.Second}
	}
	sys := fn("vault-sys", "vault", catalog.HTTP)
	sys.Routes = []catalog.Route{{Method: "PUT", Path: "/v1/sys/init"}, {Method: "GET", Path: "/v1/sys/seal-status"}}
	sys.Invokes = []string{"vault-crypto"}
	sys.Database = "secretumvault"
	secrets := fn("vault-secrets", "vault", catalog.HTTP)
	secrets.Routes = []catalog.Route{{Method: "ANY", Path: "/v1/{path+}"}, {Method: "LIST", Path: "/v1/{path+}"}}
	secrets.Invokes = []string{"vault-crypto"}
	crypto := fn("vault-crypto", "vault", catalog.Invoke)
	crypto.KMS = true
	crypto.Concurrency = 5
	crypto.Timeout = 5 * time.Second // shorter than its callers'
	sweep := fn("vault-lease-sweep", "vault", catalog.Invoke)
	sweep.Schedule = "rate(1 minute)"
	sweep.Invokes = []string{"vault-crypto"}
	exec := fn("portfolio-executions", "portfolio", catalog.HTTP)
	exec.Routes = []catalog.Route{{Method: "GET", Path: "/executions"}}
	exec.Bus = true
	cons := fn("portfolio-on-execution", "portfolio", catalog.Consumer)
	cons.Subjects = []string{"portfolio.executions.recorded"}
	cons.MaxDeliver = 3
	cons.Database = "portfolio"
	fns := []catalog.Function{sys, secrets, crypto, sweep, exec, cons}
	return stacks.Config{Systems: []catalog.System{{Name: "vault"}, {Name: "portfolio"}}, Streams: catalog.Streams,
		Functions: fns, SurrealURL: "wss://db", NATSURL: "tls://nats"}
}

type synthesized struct {
	stacks    *stacks.Stacks
	templates map[string]map[string]any // stack name → template JSON
}

func synth(t *testing.T, cfg stacks.Config) synthesized {
	t.Helper()
	if cfg.DistDir == "" {
		cfg.DistDir = fakeDist(t, cfg.Functions)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	st, err := stacks.Build(app, cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := synthesized{stacks: st, templates: map[string]map[string]any{}}
	all := []awscdk.Stack{st.Platform}
	for _, s := range st.Systems {
		all = append(all, s)
	}
	if st.Dispatcher != nil {
		all = append(all, st.Dispatcher)
	}
	if st.Edge != nil {
		all = append(all, st.Edge)
	}
	for _, s := range all {
		raw, err := json.Marshal(assertions.Template_FromStack(s, nil).ToJSON())
		must(t, err)
		var tpl map[string]any
		must(t, json.Unmarshal(raw, &tpl))
		out.templates[*s.StackName()] = tpl
	}
	return out
}

func resources(tpl map[string]any, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	res, _ := tpl["Resources"].(map[string]any)
	for id, r := range res {
		m := r.(map[string]any)
		if m["Type"] == typ {
			out[id] = m
		}
	}
	return out
}

func props(r map[string]any) map[string]any {
	p, _ := r["Properties"].(map[string]any)
	return p
}

// functionRoles maps each function's role logical id to the function's catalog name.
func functionRoles(tpl map[string]any) map[string]string {
	out := map[string]string{}
	for _, fn := range resources(tpl, "AWS::Lambda::Function") {
		p := props(fn)
		name := strings.TrimPrefix(p["FunctionName"].(string), stacks.FunctionPrefix)
		role := p["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		out[role] = name
	}
	return out
}

type statement struct {
	Stack, Policy string
	Roles         []string
	Actions       []string
	Resources     []string
	Condition     any
}

func statements(s synthesized) []statement {
	var out []statement
	for stackName, tpl := range s.templates {
		for id, pol := range resources(tpl, "AWS::IAM::Policy") {
			p := props(pol)
			var roles []string
			for _, r := range p["Roles"].([]any) {
				roles = append(roles, fmt.Sprint(r.(map[string]any)["Ref"]))
			}
			for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				m := st.(map[string]any)
				out = append(out, statement{Stack: stackName, Policy: id, Roles: roles,
					Actions: stringsOf(m["Action"]), Resources: resourceStrings(m["Resource"]), Condition: m["Condition"]})
			}
		}
	}
	return out
}

func stringsOf(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// resourceStrings renders each resource (intrinsics included) as JSON text, so
// it can be searched for the logical ids it refers to.
func resourceStrings(v any) []string {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	var out []string
	for _, r := range list {
		if s, ok := r.(string); ok {
			out = append(out, s)
			continue
		}
		raw, _ := json.Marshal(r)
		out = append(out, string(raw))
	}
	return out
}

func hasAction(st statement, prefix string) bool {
	return slices.ContainsFunc(st.Actions, func(a string) bool { return strings.HasPrefix(a, prefix) })
}

// logicalID finds the logical id of a catalog function in its stack's template.
func logicalID(t *testing.T, s synthesized, name string) string {
	t.Helper()
	for _, tpl := range s.templates {
		for id, fn := range resources(tpl, "AWS::Lambda::Function") {
			if props(fn)["FunctionName"] == stacks.FunctionPrefix+name {
				return id
			}
		}
	}
	t.Fatalf("no Lambda for %s", name)
	return ""
}

func TestEveryCatalogFunctionAndRouteIsDeployed(t *testing.T) {
	cfg := managedCatalog()
	s := synth(t, cfg)
	for _, f := range catalog.Functions {
		tpl := s.templates["Stratum"+strings.ToUpper(f.System[:1])+f.System[1:]]
		fn := resources(tpl, "AWS::Lambda::Function")[logicalID(t, s, f.Name)]
		p := props(fn)
		zip := p["Runtime"] == "provided.al2023" && p["Handler"] == "bootstrap" && p["PackageType"] == nil
		image := p["PackageType"] == "Image" && p["Runtime"] == nil && p["Handler"] == nil
		if f.Image && !image || !f.Image && !zip || fmt.Sprint(p["Architectures"]) != "[arm64]" ||
			p["MemorySize"] != float64(f.MemoryMB) || p["Timeout"] != f.Timeout.Seconds() {
			t.Errorf("%s (image %v): %v", f.Name, f.Image, p)
		}
		env := p["Environment"].(map[string]any)["Variables"].(map[string]any)
		if f.Database != "" && env["SURREAL_SECRET_ARN"] == nil {
			t.Errorf("%s: no SURREAL_SECRET_ARN", f.Name)
		}
		// A service credential for another system's API comes from a secret
		// the function may read, never from its plain configuration.
		for _, system := range f.Calls {
			if env[catalog.ClientVar(system, "CLIENT_SECRET_ARN")] == nil {
				t.Errorf("%s: calls %s without %s", f.Name, system, catalog.ClientVar(system, "CLIENT_SECRET_ARN"))
			}
		}
		for k := range env {
			if strings.HasSuffix(k, "_API_KEY") || strings.HasSuffix(k, "_JWT_SECRET") {
				t.Errorf("%s: credential %s in its plain environment", f.Name, k)
			}
		}
		var keys []string
		for _, r := range resources(tpl, "AWS::ApiGatewayV2::Route") {
			keys = append(keys, props(r)["RouteKey"].(string))
		}
		for _, r := range f.Routes {
			if !slices.Contains(keys, r.String()) {
				t.Errorf("%s: route %s missing (have %v)", f.Name, r, keys)
			}
		}
	}
	// Log groups are kept a month; the unseal key and the credentials outlive the stack.
	platform := s.templates["StratumPlatform"]
	for id, k := range resources(platform, "AWS::KMS::Key") {
		if k["DeletionPolicy"] != "Retain" || props(k)["EnableKeyRotation"] != true {
			t.Errorf("KMS key %s: %v", id, k)
		}
	}
	for id, sec := range resources(platform, "AWS::SecretsManager::Secret") {
		if sec["DeletionPolicy"] != "Retain" {
			t.Errorf("secret %s not retained", id)
		}
	}
	for _, tpl := range s.templates {
		for id, lg := range resources(tpl, "AWS::Logs::LogGroup") {
			if props(lg)["RetentionInDays"] != float64(30) {
				t.Errorf("log group %s retention %v", id, props(lg)["RetentionInDays"])
			}
		}
	}
}

func TestLeastPrivilege(t *testing.T) {
	s := synth(t, vaultLike())
	vault := s.templates["StratumVault"]
	roles := functionRoles(vault)
	portfolioRoles := functionRoles(s.templates["StratumPortfolio"])
	crypto := logicalID(t, s, "vault-crypto")
	all := statements(s)

	for _, st := range all {
		// Only vault-crypto may use the KMS key.
		if hasAction(st, "kms:") {
			for _, r := range st.Roles {
				if roles[r] != "vault-crypto" {
					t.Errorf("%s grants kms to %s (%s)", st.Policy, r, roles[r])
				}
			}
		}
		// Only vault functions may invoke vault-crypto; the dispatcher invokes exactly the consumers.
		if hasAction(st, "lambda:InvokeFunction") {
			for _, res := range st.Resources {
				if strings.Contains(res, crypto) {
					for _, r := range st.Roles {
						if name, ok := roles[r]; !ok || !strings.HasPrefix(name, "vault-") {
							t.Errorf("%s lets %s invoke vault-crypto", st.Policy, r)
						}
					}
				}
			}
		}
		// No wildcard resource except where AWS defines no resource for the action.
		for _, res := range st.Resources {
			if res == "*" && !wildcardRequired(st.Actions) {
				t.Errorf("%s/%s: %v on *", st.Stack, st.Policy, st.Actions)
			}
		}
	}
	// Each vault function that declares vault-crypto may invoke it; one that does not, may not.
	invokers := map[string]bool{}
	for _, st := range all {
		if hasAction(st, "lambda:InvokeFunction") && slices.ContainsFunc(st.Resources, func(r string) bool { return strings.Contains(r, crypto) }) {
			for _, r := range st.Roles {
				invokers[roles[r]] = true
			}
		}
	}
	if fmt.Sprint(sortedKeys(invokers)) != "[vault-lease-sweep vault-secrets vault-sys]" {
		t.Errorf("vault-crypto invokers: %v", sortedKeys(invokers))
	}
	// vault-crypto: no route, no function URL.
	for _, r := range resources(vault, "AWS::ApiGatewayV2::Integration") {
		if strings.Contains(fmt.Sprint(props(r)["IntegrationUri"]), crypto) {
			t.Error("vault-crypto has an API integration")
		}
	}
	for _, tpl := range s.templates {
		if len(resources(tpl, "AWS::Lambda::Url")) > 0 {
			t.Error("a function URL exists")
		}
	}
	// The dispatcher may invoke exactly the consumer functions.
	var dispatched []string
	for _, st := range all {
		if st.Stack == "StratumDispatcher" && hasAction(st, "lambda:InvokeFunction") {
			for _, res := range st.Resources {
				for id, name := range portfolioRoles {
					_ = id
					if strings.Contains(res, logicalID(t, s, name)) && !slices.Contains(dispatched, name) {
						dispatched = append(dispatched, name)
					}
				}
				if strings.Contains(res, crypto) {
					t.Error("the dispatcher may invoke vault-crypto")
				}
			}
		}
	}
	if fmt.Sprint(dispatched) != "[portfolio-on-execution]" {
		t.Errorf("dispatcher invokes %v", dispatched)
	}
	// A schedule targets the sweep, with the dead-letter queue.
	rules := resources(vault, "AWS::Events::Rule")
	if len(rules) != 1 {
		t.Fatalf("%d schedule rules", len(rules))
	}
	for _, r := range rules {
		p := props(r)
		target := p["Targets"].([]any)[0].(map[string]any)
		if p["ScheduleExpression"] != "rate(1 minute)" || target["DeadLetterConfig"] == nil {
			t.Errorf("rule %v", p)
		}
	}
	// Reserved concurrency where declared.
	if props(resources(vault, "AWS::Lambda::Function")[crypto])["ReservedConcurrentExecutions"] != float64(5) {
		t.Error("vault-crypto reserved concurrency not set")
	}
}

// The vault's backups: a private, encrypted, versioned bucket with a lifecycle
// rule, kept with the stack; only the backup function may touch it, and only
// to put, list and delete under its prefix (never read: restore is a person's act).
func TestVaultBackupBucket(t *testing.T) {
	cfg := vaultLike()
	backup := catalog.Function{Name: "vault-backup", System: "vault", Kind: catalog.Invoke, MemoryMB: 256, Timeout: time.Minute,
		Database: "secretumvault", Backups: true, Schedule: "rate(1 hour)", Env: map[string]string{"VAULT_BACKUP_PREFIX": "snapshots/"}}
	cfg.Functions = append(cfg.Functions, backup)
	s := synth(t, cfg)
	buckets := resources(s.templates["StratumPlatform"], "AWS::S3::Bucket")
	if len(buckets) != 1 {
		t.Fatalf("%d buckets in the platform stack", len(buckets))
	}
	for id, b := range buckets {
		p := props(b)
		raw, _ := json.Marshal(p)
		if b["DeletionPolicy"] != "Retain" || fmt.Sprint(p["VersioningConfiguration"]) != "map[Status:Enabled]" ||
			!strings.Contains(string(raw), `"NoncurrentVersionExpiration":{"NoncurrentDays":30}`) ||
			!strings.Contains(string(raw), `"SSEAlgorithm":"AES256"`) || !strings.Contains(string(raw), `"BlockPublicAcls":true`) {
			t.Errorf("backup bucket %s: %s", id, raw)
		}
	}
	roles := functionRoles(s.templates["StratumVault"])
	var granted []string
	for _, st := range statements(s) {
		if !hasAction(st, "s3:") {
			continue
		}
		for _, r := range st.Roles {
			if roles[r] != "vault-backup" {
				t.Errorf("%s grants s3 to %s", st.Policy, roles[r])
			}
		}
		granted = append(granted, st.Actions...)
		cond, _ := json.Marshal(st.Condition)
		switch {
		case slices.Contains(st.Actions, "s3:ListBucket"):
			if string(cond) != `{"StringLike":{"s3:prefix":"snapshots/*"}}` && string(cond) != `{"StringLike":{"s3:prefix":["snapshots/*"]}}` {
				t.Errorf("ListBucket without the prefix condition: %s", cond)
			}
		default:
			raw, _ := json.Marshal(st.Resources)
			if !strings.Contains(string(raw), "/snapshots/*") {
				t.Errorf("%v on %s: not limited to the prefix", st.Actions, raw)
			}
		}
	}
	slices.Sort(granted)
	if fmt.Sprint(granted) != "[s3:DeleteObject s3:ListBucket s3:PutObject]" {
		t.Errorf("vault-backup s3 actions: %v", granted)
	}
	fn := props(resources(s.templates["StratumVault"], "AWS::Lambda::Function")[logicalID(t, s, "vault-backup")])
	if env := fn["Environment"].(map[string]any)["Variables"].(map[string]any); env["VAULT_BACKUP_BUCKET"] == nil {
		t.Errorf("vault-backup has no VAULT_BACKUP_BUCKET: %v", env)
	}
}

// wildcardRequired lists actions that AWS only grants on "*".
func wildcardRequired(actions []string) bool {
	for _, a := range actions {
		switch a {
		case "ecr:GetAuthorizationToken", // account-wide token: ECR defines no resource for it
			"xray:PutTraceSegments", "xray:PutTelemetryRecords": // X-Ray has no resource-level permissions
		default:
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestSynthRefusesBadInput(t *testing.T) {
	good := vaultLike()
	cases := map[string]struct {
		mutate func(*stacks.Config)
		want   string
	}{
		"missing binary": {func(c *stacks.Config) {
			c.DistDir = fakeDist(t, c.Functions)
			must(t, os.Remove(filepath.Join(c.DistDir, "vault-crypto", "bootstrap")))
		}, "vault-crypto/bootstrap"},
		"route claimed twice": {func(c *stacks.Config) {
			c.Functions[0].Routes = append(c.Functions[0].Routes, catalog.Route{Method: "ANY", Path: "/v1/{path+}"})
		}, `claimed by both "vault-sys" and "vault-secrets"`},
		"placeholder URLs": {func(c *stacks.Config) {
			c.SurrealURL = stacks.FromCatalog("").SurrealURL
		}, "surrealUrl is the placeholder wss://surrealdb.example.invalid: pass -c surrealUrl="},
		"no NATS URL": {func(c *stacks.Config) { c.NATSURL = "" }, "natsUrl is not set"},
		"managed SurrealDB in clear": {func(c *stacks.Config) { c.SurrealURL = "ws://db.example.com:8000" },
			`surrealUrl "ws://db.example.com:8000": want wss://`},
		"managed NATS in clear": {func(c *stacks.Config) { c.NATSURL = "nats://connect.example.com:4222" },
			`natsUrl "nats://connect.example.com:4222": want tls://`},
		"bad stage": {func(c *stacks.Config) { c.Stage = "Prod_1" }, `stage "Prod_1"`},
		"domain without certificate": {func(c *stacks.Config) { c.DomainName = "ops.example.com" },
			"domainName takes either certificateArn"},
		"domain with both": {func(c *stacks.Config) {
			c.DomainName, c.CertificateArn, c.HostedZoneID = "ops.example.com", "arn:aws:acm:eu-west-1:1:certificate/x", "Z1"
		}, "not both and not neither"},
		"zone without domain": {func(c *stacks.Config) { c.HostedZoneID = "Z1" }, "certificateArn and hostedZoneId need domainName"},
		"edge without a region": {func(c *stacks.Config) { c.DomainName, c.HostedZoneID = "ops.example.com", "Z1" },
			"the account and region must be known at synth"},
		"page without files": {func(c *stacks.Config) {
			c.Sites = []catalog.Site{{System: "portfolio", Prefix: "/ui/"}}
			c.SiteDirs = map[string]string{"portfolio": t.TempDir()}
		}, "index.html (the portfolio page's files)"},
		"consumer with no stream": {func(c *stacks.Config) {
			c.Functions[5].Subjects = []string{"nowhere.at.all"}
		}, `"portfolio-on-execution": subject "nowhere.at.all" is kept by no stream`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good
			cfg.Functions = slices.Clone(good.Functions)
			for i := range cfg.Functions {
				cfg.Functions[i].Routes = slices.Clone(cfg.Functions[i].Routes)
			}
			tc.mutate(&cfg)
			if cfg.DistDir == "" {
				cfg.DistDir = fakeDist(t, cfg.Functions)
			}
			_, err := stacks.Build(awscdk.NewApp(nil), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error naming %q, got %v", tc.want, err)
			}
		})
	}
}

func TestLocalStackAndSelfHostedVariants(t *testing.T) {
	local := vaultLike()
	local.LocalStack = true
	s := synth(t, local)
	if s.stacks.Dispatcher != nil {
		t.Error("LocalStack has no ECS: the dispatcher runs on the host")
	}
	for _, fn := range resources(s.templates["StratumVault"], "AWS::Lambda::Function") {
		env := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
		if env["LAMBDA_ENDPOINT"] != "http://localhost.localstack.cloud:4566" {
			t.Errorf("env %v", env)
		}
	}
	for _, fn := range resources(s.templates["StratumVault"], "AWS::Lambda::Function") {
		env := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
		if env["SURREAL_SECRET_ARN"] != nil && env["SURREAL_URL"] != "ws://surrealdb:8000" {
			t.Errorf("LocalStack functions do not point at the compose services: %v", env)
		}
	}

	hosted := vaultLike()
	hosted.SelfHosted = true
	s = synth(t, hosted)
	services := resources(s.templates["StratumPlatform"], "AWS::ECS::Service")
	if len(services) != 2 {
		t.Errorf("self-hosted: %d ECS services, want NATS and SurrealDB", len(services))
	}
	tasks, _ := json.Marshal(resources(s.templates["StratumPlatform"], "AWS::ECS::TaskDefinition"))
	if !strings.Contains(string(tasks), "rocksdb:///data/db") || strings.Contains(string(tasks), "surrealkv://") {
		t.Error("self-hosted SurrealDB must store on rocksdb:// (surrealkv loses concurrent updates)")
	}
	for id, fs := range resources(s.templates["StratumPlatform"], "AWS::EFS::FileSystem") {
		if fs["DeletionPolicy"] != "Retain" {
			t.Errorf("EFS %s not retained", id)
		}
	}
}

// vault-audit reads back its own checkpoints, and nothing else of the bucket:
// vault-backup still cannot read the snapshots.
func TestVaultAuditCheckpointsGrant(t *testing.T) {
	cfg := vaultLike()
	for _, f := range []catalog.Function{
		{Name: "vault-backup", System: "vault", Kind: catalog.Invoke, MemoryMB: 256, Timeout: time.Minute, Database: "secretumvault",
			Backups: true, Schedule: "rate(1 hour)", Env: map[string]string{"VAULT_BACKUP_PREFIX": "snapshots/", "VAULT_BACKUP_KEEP": "48"}},
		{Name: "vault-audit", System: "vault", Kind: catalog.Invoke, MemoryMB: 256, Timeout: time.Minute, Database: "secretumvault",
			Backups: true, Schedule: "rate(1 minute)", Env: map[string]string{"VAULT_BACKUP_PREFIX": "audit-checkpoints/", "VAULT_AUDIT_KEEP": "1440"}},
	} {
		cfg.Functions = append(cfg.Functions, f)
	}
	s := synth(t, cfg)
	roles := functionRoles(s.templates["StratumVault"])
	reads := map[string]string{}
	for _, st := range statements(s) {
		if !slices.Contains(st.Actions, "s3:GetObject") {
			continue
		}
		raw, _ := json.Marshal(st.Resources)
		for _, r := range st.Roles {
			reads[roles[r]] = string(raw)
		}
	}
	if len(reads) != 1 || !strings.Contains(reads["vault-audit"], "/audit-checkpoints/*") {
		t.Fatalf("s3:GetObject granted: %v", reads)
	}
}
