// Command infra is the CDK app (cdk.json runs `go run ./infra`): the whole AWS
// deployment, generated from the function catalog by infra/stacks.
//
// Context (-c key=value): distDir=dist (build output); localstack=true
// (LocalStack targets); selfHosted=true (NATS and SurrealDB on Fargate) or
// surrealUrl=wss://… natsUrl=tls://… (managed services; synth refuses the
// placeholders); stage=<name> (prefixes every name: several copies per
// account and region); alarmEmail=…; reservedConcurrency=false (accounts
// with a concurrency quota of 10); unsealKeyArn=… (adopt the vault's KMS key
// of an earlier deployment); domainName=… with certificateArn=… (stable API
// domains, regional) or hostedZoneId=… (the APIs behind CloudFront with a
// WAF, its certificate and WebACL in a us-east-1 stack; wafRateLimit=…
// requests per address and 5 minutes); throttleRate=… throttleBurst=…
// (API stages); natsImage=… surrealImage=…
// (self-hosted images, pinned by digest); nag=false (skip the cdk-nag checks).
package main

import (
	"fmt"
	"os"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/stratumiops/stratumiops/infra/stacks"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	ctx := func(key, def string) string { return contextString(app, key, def) }
	cfg := stacks.FromCatalog(ctx("distDir", "dist"))
	cfg.LocalStack = ctx("localstack", "false") == "true"
	cfg.SelfHosted = ctx("selfHosted", "false") == "true"
	cfg.SurrealURL = ctx("surrealUrl", cfg.SurrealURL)
	cfg.NATSURL = ctx("natsUrl", cfg.NATSURL)
	if cfg.SelfHosted {
		cfg.SurrealURL = stacks.SelfHostedSurrealURL
		cfg.NATSURL = stacks.SelfHostedNATSURL
	}
	cfg.Stage = ctx("stage", "")
	cfg.NoReservedConcurrency = ctx("reservedConcurrency", "true") == "false"
	cfg.AlarmEmail = ctx("alarmEmail", "")
	cfg.UnsealKeyArn = ctx("unsealKeyArn", "")
	cfg.DomainName, cfg.CertificateArn = ctx("domainName", ""), ctx("certificateArn", "")
	cfg.HostedZoneID = ctx("hostedZoneId", "")
	cfg.NatsImage, cfg.SurrealImage = ctx("natsImage", ""), ctx("surrealImage", "")
	var err error
	if cfg.ThrottleRate, err = strconv.ParseFloat(ctx("throttleRate", "0"), 64); err != nil {
		fail(fmt.Errorf("throttleRate: %w", err))
	}
	if cfg.ThrottleBurst, err = strconv.ParseFloat(ctx("throttleBurst", "0"), 64); err != nil {
		fail(fmt.Errorf("throttleBurst: %w", err))
	}
	if cfg.WafRateLimit, err = strconv.ParseFloat(ctx("wafRateLimit", "0"), 64); err != nil {
		fail(fmt.Errorf("wafRateLimit: %w", err))
	}
	if account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); account != "" && region != "" {
		cfg.Env = &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
	}
	if _, err := stacks.Build(app, cfg); err != nil {
		fail(err)
	}
	if ctx("nag", "true") == "true" {
		stacks.Nag(app)
	}
	app.Synth(nil)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "synth:", err)
	os.Exit(1)
}

func contextString(app awscdk.App, key, def string) string {
	switch v := app.Node().TryGetContext(jsii.String(key)).(type) {
	case string:
		if v != "" {
			return v
		}
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return def
}
