package function_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	localnats "github.com/stratumiops/stratumiops/localstack/nats"
	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/localstack/tools"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var demoHTTP = catalog.Function{Name: "portfolio-demo", System: "portfolio", Kind: catalog.HTTP,
	Routes: []catalog.Route{{Method: "GET", Path: "/demo"}}, MemoryMB: 128, Timeout: time.Second}

func deadSurreal(t *testing.T) *surreal.Client {
	t.Helper()
	port, err := tools.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return surreal.New(surreal.Config{URL: fmt.Sprintf("ws://127.0.0.1:%d", port), Database: "d", Timeout: 500 * time.Millisecond}, nil)
}

// A handler whose database is unreachable answers 503, and /health/ready names
// the dependency that is down.
func TestUnreachableDependenciesAre503(t *testing.T) {
	db := deadSurreal(t)
	nats, err := localnats.Start(localnats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.Connect(context.Background(), nats.URL(), "t", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	nats.Close() // NATS goes away too
	builder := mounted(func(ctx context.Context, d *function.Deps) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := d.Surreal.Ping(r.Context()); err != nil {
				status := http.StatusInternalServerError
				var sc interface{ HTTPStatus() int }
				if errors.As(err, &sc) {
					status = sc.HTTPStatus()
				}
				w.WriteHeader(status)
				return
			}
			w.WriteHeader(http.StatusOK)
		}), nil
	})
	built, err := function.Build(context.Background(), demoHTTP, builder, &function.Deps{Surreal: db, Bus: b})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	built.HTTP.ServeHTTP(rec, httptest.NewRequest("GET", "/demo", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("request with SurrealDB down: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	built.HTTP.ServeHTTP(rec, httptest.NewRequest("GET", "/health/ready", nil))
	var rep struct {
		Checks map[string]string `json:"checks"`
	}
	_ = json.Unmarshal(rec.Body.Bytes(), &rep)
	if rec.Code != 503 || !strings.HasPrefix(rep.Checks["surrealdb"], "unavailable") || !strings.HasPrefix(rep.Checks["nats"], "unavailable") {
		t.Fatalf("ready: %d %s", rec.Code, rec.Body)
	}
}

func TestBuildRefusesKindMismatch(t *testing.T) {
	consumer := function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) { return nil, nil })
	if _, err := function.Build(context.Background(), demoHTTP, consumer, &function.Deps{}); err == nil ||
		!strings.Contains(err.Error(), "catalog kind") {
		t.Fatalf("got %v", err)
	}
}

// An HTTP function's Lambda entry point takes API Gateway events and returns API Gateway responses.
func TestHTTPFunctionInvokeEntryPoint(t *testing.T) {
	builder := mounted(func(ctx context.Context, d *function.Deps) (http.Handler, error) {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /demo", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"ok":true}`)) })
		return mux, nil
	})
	built, err := function.Build(context.Background(), demoHTTP, builder, &function.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(lambdaevents.APIGatewayV2HTTPRequest{RawPath: "/demo", RequestContext: lambdaevents.APIGatewayV2HTTPRequestContext{
		RequestID: "rid", HTTP: lambdaevents.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: "/demo"}}})
	out, err := built.Invoke(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	var res lambdaevents.APIGatewayV2HTTPResponse
	_ = json.Unmarshal(out, &res)
	if res.StatusCode != 200 || res.Body != `{"ok":true}` || res.Headers["X-Request-Id"] != "rid" {
		t.Fatalf("%+v", res)
	}
	if _, err := built.Invoke(context.Background(), []byte(`"not an event"`)); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestFaultInjectionOnlyWhenEnabled(t *testing.T) {
	fn := catalog.Function{Name: "portfolio-demo-consumer", System: "portfolio", Kind: catalog.Consumer,
		Subjects: []string{"portfolio.demo"}, MaxDeliver: 3, MemoryMB: 128, Timeout: time.Second}
	calls := 0
	builder := function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		return func(ctx context.Context, del bus.Delivery) error { calls++; return nil }, nil
	})
	delivery := func(attempt int) []byte {
		raw, _ := json.Marshal(bus.Delivery{Subject: "portfolio.demo", Data: json.RawMessage(`{}`), Attempt: attempt,
			Headers: map[string]string{function.FaultHeader: "2"}})
		return raw
	}
	off, _ := function.Build(context.Background(), fn, builder, &function.Deps{})
	if _, err := off.Invoke(context.Background(), delivery(1)); err != nil || calls != 1 {
		t.Fatalf("fault injection off: err %v calls %d", err, calls)
	}
	on, _ := function.Build(context.Background(), fn, builder, &function.Deps{FaultInjection: true})
	for attempt, wantErr := range map[int]bool{1: true, 2: true, 3: false} {
		_, err := on.Invoke(context.Background(), delivery(attempt))
		if (err != nil) != wantErr {
			t.Errorf("attempt %d: err %v", attempt, err)
		}
	}
}

// A fault after the consumer lets it run (its writes happen) and still fails
// the delivery, so it is delivered again as after a crash before the ack.
func TestFaultAfterTheConsumerRan(t *testing.T) {
	fn := catalog.Function{Name: "portfolio-demo-consumer", System: "portfolio", Kind: catalog.Consumer,
		Subjects: []string{"portfolio.demo"}, MaxDeliver: 3, MemoryMB: 128, Timeout: time.Second}
	calls := 0
	builder := function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		return func(ctx context.Context, del bus.Delivery) error { calls++; return nil }, nil
	})
	on, _ := function.Build(context.Background(), fn, builder, &function.Deps{FaultInjection: true})
	for attempt, wantErr := range []bool{true, false} {
		raw, _ := json.Marshal(bus.Delivery{Subject: "portfolio.demo", Data: json.RawMessage(`{}`), Attempt: attempt + 1,
			Headers: map[string]string{function.FaultAfterHeader: "1"}})
		if _, err := on.Invoke(context.Background(), raw); (err != nil) != wantErr {
			t.Errorf("attempt %d: err %v", attempt+1, err)
		}
	}
	if calls != 2 {
		t.Fatalf("the consumer ran %d times, want 2", calls)
	}
}

// The schema is applied on first use: while SurrealDB is unreachable a request
// gets 503 (not a failed init), and once it answers the schema is there.
func TestSchemaAppliedOnFirstUse(t *testing.T) {
	url, stop, err := localsurreal.ForTests()
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	reached := 0
	builder := mounted(func(ctx context.Context, d *function.Deps) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached++ }), nil
	})
	down, err := function.Build(context.Background(), demoHTTP, builder, &function.Deps{Surreal: deadSurreal(t)})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	down.HTTP.ServeHTTP(rec, httptest.NewRequest("GET", "/demo", nil))
	if rec.Code != http.StatusServiceUnavailable || reached != 0 {
		t.Fatalf("with SurrealDB down: %d, handler reached %d times", rec.Code, reached)
	}
	db := surreal.New(surreal.Config{URL: url, User: "root", Pass: "root", Namespace: surreal.Namespace, Database: "portfolio"}, nil)
	defer db.Close()
	up, _ := function.Build(context.Background(), demoHTTP, builder, &function.Deps{Surreal: db})
	rec = httptest.NewRecorder()
	up.HTTP.ServeHTTP(rec, httptest.NewRequest("GET", "/demo", nil))
	if rec.Code != http.StatusOK || reached != 1 {
		t.Fatalf("with SurrealDB up: %d, reached %d", rec.Code, reached)
	}
	n, err := surreal.Query[int](context.Background(), db, "RETURN count(SELECT * FROM _migrations)", nil)
	if err != nil || n == 0 {
		t.Fatalf("schema not applied: %d %v", n, err)
	}
}

// A function whose catalog entry invokes others needs its main to pass an
// invoker; one that invokes nothing gets none (and links no Lambda client).
func TestDepsFromEnvConnectsAnInvokerOnlyWhereTheCatalogAsks(t *testing.T) {
	ctx := context.Background()
	if _, err := function.DepsFromEnv(ctx, "vault-sys"); err == nil || !strings.Contains(err.Error(), "must pass one invoker") {
		t.Fatalf("vault-sys without an invoker: %v", err)
	}
	local := invoke.NewLocal()
	fromEnv := func(context.Context) (invoke.Invoker, error) { return local, nil }
	d, err := function.DepsFromEnv(ctx, "vault-sys", fromEnv)
	if err != nil || d.Invoker != local {
		t.Fatalf("vault-sys: %v %v", d, err)
	}
	d, err = function.DepsFromEnv(ctx, "kogral-mcp", fromEnv) // invokes nothing, no bus
	if err != nil {
		t.Fatalf("kogral-mcp: %v", err)
	}
	if d.Invoker != nil {
		t.Fatalf("kogral-mcp was given an invoker: %v", d.Invoker)
	}
}

// mounted is an HTTP function whose one operation hands every request to the
// handler build makes.
func mounted(build func(ctx context.Context, d *function.Deps) (http.Handler, error)) function.Builder {
	spec := httpapi.Spec[http.Handler]{Ops: []httpapi.Op[http.Handler]{
		{Method: "ANY", Path: "/", Mount: func(h http.Handler) http.Handler { return h }}}}
	return function.HTTP(spec, build)
}
