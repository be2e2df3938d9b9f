// Command infra is the CDK app (cdk.json runs `go run ./infra`): the whole AWS
// deployment, generated from the function catalog by infra/stacks.
//
// Context: -c distDir=dist (build output), -c localstack=true (LocalStack
// targets), -c selfHosted=true (NATS and SurrealDB on Fargate),
// -c surrealUrl=... -c natsUrl=... (managed services).
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/stratumiops/stratumiops/infra/stacks"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)
	cfg := stacks.FromCatalog(contextString(app, "distDir", "dist"))
	cfg.LocalStack = contextString(app, "localstack", "false") == "true"
	cfg.SelfHosted = contextString(app, "selfHosted", "false") == "true"
	cfg.SurrealURL = contextString(app, "surrealUrl", cfg.SurrealURL)
	cfg.NATSURL = contextString(app, "natsUrl", cfg.NATSURL)
	if cfg.SelfHosted {
		cfg.SurrealURL = "ws://surrealdb." + stacks.SelfHostedDomain + ":8000"
		cfg.NATSURL = "nats://nats." + stacks.SelfHostedDomain + ":4222"
	}
	if account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); account != "" && region != "" {
		cfg.Env = &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
	}
	if _, err := stacks.Build(app, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "synth:", err)
		os.Exit(1)
	}
	app.Synth(nil)
}

func contextString(app awscdk.App, key, def string) string {
	if v, ok := app.Node().TryGetContext(jsii.String(key)).(string); ok && v != "" {
		return v
	}
	return def
}
