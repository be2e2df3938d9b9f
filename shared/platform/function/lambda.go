package function

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Main is the whole of a functions/<name>/main.go: it builds the named function
// of set from the environment and hands it to the Lambda runtime. A failure here
// is a Lambda init error; Lambda retries init on the next invocation.
func Main(name string, set Set) {
	log := obs.NewLogger(os.Stderr, name)
	if err := run(name, set, log); err != nil {
		log.Error("init failed", "err", err)
		os.Exit(1)
	}
}

func run(name string, set Set, log *slog.Logger) error {
	ctx := context.Background()
	d, err := DepsFromEnv(ctx, name)
	if err != nil {
		return err
	}
	built, err := Build(ctx, d.Function, set[name], d)
	if err != nil {
		return err
	}
	log.Info("ready", "kind", string(d.Function.Kind))
	lambda.Start(lambdaHandler(built.Invoke))
	return nil
}

// DepsFromEnv connects what the catalog entry of name asks for: SurrealDB
// (SURREAL_*, or SURREAL_SECRET_ARN), NATS (NATS_URL or
// NATS_SECRET_ARN) and the Lambda Invoke API
// (LAMBDA_ENDPOINT to override, STRATUM_FUNCTION_PREFIX for deployed names).
func DepsFromEnv(ctx context.Context, name string) (*Deps, error) {
	f, ok := catalog.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("function %q is not in the catalog", name)
	}
	if err := resolveSecrets(ctx); err != nil {
		return nil, err
	}
	d := &Deps{Function: f, Log: obs.NewLogger(os.Stderr, name),
		FaultInjection: os.Getenv("STRATUM_FAULT_INJECTION") == "on"}
	if f.Database != "" {
		// Connected and migrated on first use (see schemaGate), so a cold start
		// during a SurrealDB outage answers 503 instead of failing its init.
		d.Surreal = surreal.New(surreal.ConfigFromEnv(f.Database), d.Log)
	}
	if f.Bus {
		url := os.Getenv("NATS_URL")
		if url == "" {
			return nil, fmt.Errorf("function %s publishes events but NATS_URL is not set", name)
		}
		b, err := bus.Connect(ctx, url, name, d.Log)
		if err != nil {
			return nil, err
		}
		d.Bus = b
	}
	inv, err := invoke.NewLambda(ctx, os.Getenv("LAMBDA_ENDPOINT"), os.Getenv("STRATUM_FUNCTION_PREFIX"))
	if err != nil {
		return nil, err
	}
	d.Invoker = inv
	return d, nil
}

// lambdaHandler gives an invoke.Handler the aws-lambda-go Handler interface, so
// payloads pass as raw JSON and a returned error's type becomes Lambda's errorType.
type lambdaHandler invoke.Handler

func (h lambdaHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return h(ctx, payload)
}
