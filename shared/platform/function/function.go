// Package function turns a system's handler builder into a running function:
// under Lambda (Main) or in the devstack (Build), with the same wrapping —
// request ids, JSON errors, body limits, logs, metrics and health for HTTP
// functions; the bus delivery contract for consumers.
package function

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Deps are what a handler may use. Fields the catalog entry does not ask for are nil.
type Deps struct {
	Function catalog.Function
	Log      *slog.Logger
	Metrics  *obs.Metrics
	Health   *obs.Health
	Surreal  *surreal.Client
	Bus      *bus.Bus
	Invoker  invoke.Invoker
	// FaultInjection lets a delivery's Stratum-Fault-Fail-Attempts header make a
	// consumer fail its first N attempts. Only the devstack's e2e mode turns it on.
	FaultInjection bool
	// Vars override the environment for in-process functions (the devstack
	// passes endpoints that a deployed function finds in its environment).
	Vars map[string]string
}

// Env reads a variable: Vars, then the environment, then the catalog default.
func (d *Deps) Env(key string) string {
	if v, ok := d.Vars[key]; ok {
		return v
	}
	if v := os.Getenv(key); v != "" {
		return v
	}
	return d.Function.Env[key]
}

// Authenticator checks API callers with the JWT secret and API keys a
// catalog function with Auth is given (API_JWT_SECRET, API_KEYS). JWTs must
// name the function's system as issuer and audience (principal.ForSystem);
// API_JWT_ISSUER and API_JWT_AUDIENCE override them.
func (d *Deps) Authenticator() (*principal.Authenticator, error) {
	cfg := principal.Config{JWTSecret: d.Env("API_JWT_SECRET"), APIKeys: d.Env("API_KEYS"),
		Issuer: d.Env("API_JWT_ISSUER"), Audience: d.Env("API_JWT_AUDIENCE")}
	auth, err := principal.New(cfg.ForSystem(d.Function.System))
	if err != nil {
		return nil, fmt.Errorf("%s authentication: %w", d.Function.Name, err)
	}
	return auth, nil
}

// Builders construct one kind of handler.
type (
	HTTPBuilder          func(ctx context.Context, d *Deps) (http.Handler, error)
	ConsumerBuilder      func(ctx context.Context, d *Deps) (bus.Handler, error)
	BatchConsumerBuilder func(ctx context.Context, d *Deps) (bus.BatchHandler, error)
	InvokeBuilder        func(ctx context.Context, d *Deps) (invoke.Handler, error)
)

// Builder is the constructor of one function; exactly one constructor is
// set, matching its catalog kind.
type Builder struct {
	HTTP          HTTPBuilder
	Consumer      ConsumerBuilder
	BatchConsumer BatchConsumerBuilder
	Invoke        InvokeBuilder
	// Operations and Errors describe an HTTP function's surface (from its
	// httpapi.Spec): the catalog check, the gateway and the OpenAPI document read them.
	Operations []httpapi.Operation
	Errors     httpapi.ErrorFormat
}

// HTTP is an HTTP function: spec declares its operations once, build makes
// the service they are bound to.
func HTTP[S any](spec httpapi.Spec[S], build func(ctx context.Context, d *Deps) (S, error)) Builder {
	shape := spec.Shape()
	return Builder{Operations: spec.Operations(), Errors: shape,
		HTTP: func(ctx context.Context, d *Deps) (http.Handler, error) {
			svc, err := build(ctx, d)
			if err != nil {
				return nil, err
			}
			return spec.Handler(svc), nil
		}}
}

// Consumer and Invoke wrap a constructor as a Builder.
func Consumer(b ConsumerBuilder) Builder { return Builder{Consumer: b} }

// BatchConsumer wraps the constructor of a consumer that handles a batch of
// deliveries at once (for a catalog function with a Batch).
func BatchConsumer(b BatchConsumerBuilder) Builder { return Builder{BatchConsumer: b} }
func Invoke(b InvokeBuilder) Builder               { return Builder{Invoke: b} }

// Constructor makes the Builder of one function. Each function has its own,
// so that its main.go links that function and not its siblings.
type Constructor func() Builder

// Set maps function names to their constructors: what the devstack runs and
// the registry tests check. Each system's packages export one through a
// Functions() func (never a package-level map, which would link every
// constructor into every Lambda of the package).
type Set map[string]Constructor

// Kind is the catalog kind this builder makes.
func (b Builder) Kind() catalog.Kind {
	switch {
	case b.HTTP != nil:
		return catalog.HTTP
	case b.Consumer != nil, b.BatchConsumer != nil:
		return catalog.Consumer
	case b.Invoke != nil:
		return catalog.Invoke
	}
	return ""
}

// Built is a ready function. Invoke is its Lambda entry point (API Gateway
// events for HTTP functions, bus deliveries for consumers); HTTP is set for
// HTTP functions so a gateway can call them directly.
type Built struct {
	Function catalog.Function
	HTTP     http.Handler
	Invoke   invoke.Handler
}

// FaultHeader is the delivery header read when fault injection is on.
const FaultHeader = "Stratum-Fault-Fail-Attempts"

// FaultAfterHeader, when fault injection is on, fails the first N attempts of
// a delivery after the consumer has run: its work is done but the message is
// not acknowledged, as when an instance dies between its writes and the ack.
const FaultAfterHeader = "Stratum-Fault-Fail-After-Attempts"

// Build constructs f with b and wraps it for its kind.
func Build(ctx context.Context, f catalog.Function, b Builder, d *Deps) (Built, error) {
	if b.Kind() != f.Kind {
		return Built{}, fmt.Errorf("function %s: catalog kind %q but builder makes %q", f.Name, f.Kind, b.Kind())
	}
	d.Function = f
	if d.Log == nil {
		d.Log = obs.NewLogger(os.Stderr, f.Name)
	}
	if d.Metrics == nil {
		d.Metrics = obs.NewMetrics()
	}
	if d.Health == nil {
		d.Health = obs.NewHealth()
		if d.Surreal != nil {
			d.Health.Add("surrealdb", d.Surreal.Ping)
		}
		if d.Bus != nil {
			d.Health.Add("nats", d.Bus.Ping)
		}
	}
	out := Built{Function: f}
	gate := &schemaGate{db: d.Surreal, log: d.Log, errors: b.Errors.Write}
	switch f.Kind {
	case catalog.HTTP:
		h, err := b.HTTP(ctx, d)
		if err != nil {
			return Built{}, fmt.Errorf("build %s: %w", f.Name, err)
		}
		out.HTTP = WrapHTTP(d, b.Errors.Write, gate.http(h))
		out.Invoke = apiGatewayHandler(out.HTTP)
	case catalog.Consumer:
		h, err := b.consumer(ctx, d)
		if err != nil {
			return Built{}, fmt.Errorf("build %s: %w", f.Name, err)
		}
		out.Invoke = bus.InvokeHandler(consumerWrapper(d, gate.consumer(h)))
	case catalog.Invoke:
		h, err := b.Invoke(ctx, d)
		if err != nil {
			return Built{}, fmt.Errorf("build %s: %w", f.Name, err)
		}
		out.Invoke = gate.invoke(h)
	}
	return out, nil
}

// consumer builds a consumer as a batch handler; a per-delivery handler gets
// each delivery with a logger that names it.
func (b Builder) consumer(ctx context.Context, d *Deps) (bus.BatchHandler, error) {
	if b.BatchConsumer != nil {
		return b.BatchConsumer(ctx, d)
	}
	h, err := b.Consumer(ctx, d)
	if err != nil {
		return nil, err
	}
	return bus.Each(func(ctx context.Context, del bus.Delivery) error {
		return h(obs.WithLogger(ctx, d.Log.With("subject", del.Subject, "msg_id", del.MsgID, "attempt", del.Attempt)), del)
	}), nil
}

// schemaGate applies the function's schema once, on first use, before any
// handler touches the database. Until it has succeeded every call fails the
// way an outage does (503, or a retried delivery), and the next call tries again.
type schemaGate struct {
	db     *surreal.Client
	log    *slog.Logger
	errors httpapi.ErrorWriter
	mu     sync.Mutex
	done   bool
}

func (g *schemaGate) ensure(ctx context.Context) error {
	if g.db == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done {
		return nil
	}
	if err := Migrate(ctx, g.db, g.log); err != nil {
		return fmt.Errorf("schema of %s not applied yet: %w", g.db.Database(), err)
	}
	g.done = true
	return nil
}

func (g *schemaGate) http(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := g.ensure(r.Context()); err != nil {
			obs.Log(r.Context()).Error("schema gate", "err", err)
			write := g.errors
			if write == nil {
				write = httpapi.WriteJSONError
			}
			write(w, r, http.StatusServiceUnavailable, "unavailable", "database unavailable")
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (g *schemaGate) consumer(h bus.BatchHandler) bus.BatchHandler {
	return func(ctx context.Context, ds []bus.Delivery) []error {
		if err := g.ensure(ctx); err != nil {
			errs := make([]error, len(ds))
			for i := range errs {
				errs[i] = err
			}
			return errs
		}
		return h(ctx, ds)
	}
}

func (g *schemaGate) invoke(h invoke.Handler) invoke.Handler {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		if err := g.ensure(ctx); err != nil {
			return nil, err
		}
		return h(ctx, payload)
	}
}

// WrapHTTP adds the health and metrics endpoints and the httpapi middleware.
func WrapHTTP(d *Deps, errors httpapi.ErrorWriter, h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /health", d.Health.LiveHandler())
	mux.Handle("GET /health/live", d.Health.LiveHandler())
	mux.Handle("GET /health/ready", d.Health.ReadyHandler())
	mux.Handle("GET /metrics", d.Metrics.Handler())
	mux.Handle("/", h)
	return httpapi.Options{Function: d.Function.Name, Logger: d.Log, Metrics: d.Metrics, Errors: errors,
		MaxBody: d.Function.MaxBody}.Middleware(mux)
}

func apiGatewayHandler(h http.Handler) invoke.Handler {
	serve := httpapi.Lambda(h)
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var ev lambdaevents.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("payload is not an API Gateway HTTP API event: %w", err)
		}
		res, err := serve(ctx, ev)
		if err != nil {
			return nil, err
		}
		return json.Marshal(res)
	}
}

// consumerWrapper logs, counts and (in e2e mode) injects faults around a
// consumer, per delivery: a delivery with an injected fault fails without
// reaching h.
func consumerWrapper(d *Deps, h bus.BatchHandler) bus.BatchHandler {
	return func(ctx context.Context, ds []bus.Delivery) []error {
		errs := make([]error, len(ds))
		var pass []int
		for i, del := range ds {
			if d.FaultInjection {
				if n, err := strconv.Atoi(del.Headers[FaultHeader]); err == nil && del.Attempt <= n {
					errs[i] = fmt.Errorf("injected fault: attempt %d of %d failing", del.Attempt, n)
					continue
				}
			}
			pass = append(pass, i)
		}
		if len(pass) > 0 {
			batch := make([]bus.Delivery, len(pass))
			for j, i := range pass {
				batch[j] = ds[i]
			}
			out := h(ctx, batch)
			for j, i := range pass {
				errs[i] = out[j]
				if n, err := strconv.Atoi(ds[i].Headers[FaultAfterHeader]); d.FaultInjection && err == nil && out[j] == nil && ds[i].Attempt <= n {
					errs[i] = fmt.Errorf("injected fault after the consumer ran: attempt %d of %d failing", ds[i].Attempt, n)
				}
			}
		}
		for i, err := range errs {
			del := ds[i]
			if err != nil {
				d.Metrics.ObserveError(d.Function.Name, "consumer")
				d.Log.Warn("consumer failed", "subject", del.Subject, "msg_id", del.MsgID, "attempt", del.Attempt,
					"err", err, "permanent", bus.IsPermanent(err))
				continue
			}
			d.Metrics.ObserveMessage(d.Function.Name, "processed")
		}
		return errs
	}
}

// Migrate applies the function's database schema (schemas/surreal/<database>).
func Migrate(ctx context.Context, c *surreal.Client, log *slog.Logger) error {
	applied, err := surreal.Migrate(ctx, c, schemas.Surreal, "surreal/"+c.Database())
	if err != nil {
		return err
	}
	if len(applied) > 0 {
		log.Info("migrations applied", "database", c.Database(), "files", applied)
	}
	return nil
}
