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

// InvokerFromEnv connects the Lambda Invoke API (lambdaclient.FromEnv).
type InvokerFromEnv func(ctx context.Context) (invoke.Invoker, error)

// Main is the whole of a functions/<name>/main.go: it builds the named function
// with its constructor from the environment and hands it to the Lambda
// runtime. The main references that one constructor, so the bootstrap links
// what this function runs and nothing of its package's other functions. A failure here
// is a Lambda init error; Lambda retries init on the next invocation.
//
// A function whose catalog entry Invokes others passes invoker; the others
// leave it out, and so do not link the AWS SDK's Lambda client.
func Main(name string, ctor Constructor, invoker ...InvokerFromEnv) {
	log := obs.NewLogger(os.Stderr, name)
	if err := run(name, ctor, invoker, log); err != nil {
		log.Error("init failed", "err", err)
		os.Exit(1)
	}
}

func run(name string, ctor Constructor, invoker []InvokerFromEnv, log *slog.Logger) error {
	ctx := context.Background()
	d, err := DepsFromEnv(ctx, name, invoker...)
	if err != nil {
		return err
	}
	built, err := Build(ctx, d.Function, ctor(), d)
	if err != nil {
		return err
	}
	log.Info("ready", "kind", string(d.Function.Kind))
	lambda.Start(lambdaHandler(built.Invoke))
	return nil
}

// DepsFromEnv connects what the catalog entry of name asks for: SurrealDB
// (SURREAL_*, or SURREAL_SECRET_ARN), NATS (NATS_URL or NATS_SECRET_ARN)
// and, for an entry that Invokes others, the invoker.
func DepsFromEnv(ctx context.Context, name string, invoker ...InvokerFromEnv) (*Deps, error) {
	f, ok := catalog.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("function %q is not in the catalog", name)
	}
	secrets, err := resolveSecrets(ctx)
	if err != nil {
		return nil, err
	}
	d := &Deps{Function: f, Log: obs.NewLogger(os.Stderr, name),
		FaultInjection: os.Getenv("STRATUM_FAULT_INJECTION") == "on"}
	if f.Database != "" {
		// Connected and migrated on first use (see schemaGate), so a cold start
		// during a SurrealDB outage answers 503 instead of failing its init.
		// Signed in with the secret's password, read again every SECRETS_TTL.
		d.Surreal = surreal.New(rotatingSurreal(surreal.ConfigFromEnv(f.Database), secrets["SURREAL_SECRET_ARN"]), d.Log)
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
	if len(f.Invokes) > 0 {
		if len(invoker) != 1 {
			return nil, fmt.Errorf("function %s invokes %v: its main must pass one invoker", name, f.Invokes)
		}
		inv, err := invoker[0](ctx)
		if err != nil {
			return nil, err
		}
		d.Invoker = inv
	}
	return d, nil
}

// lambdaHandler gives an invoke.Handler the aws-lambda-go Handler interface, so
// payloads pass as raw JSON and a returned error's type becomes Lambda's errorType.
type lambdaHandler invoke.Handler

func (h lambdaHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return h(ctx, payload)
}
