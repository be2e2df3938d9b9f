package invoke_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/invoke/lambdaclient"
)

type RejectedError struct{ Reason string }

func (e *RejectedError) Error() string { return "rejected: " + e.Reason }

func local() *invoke.Local {
	l := invoke.NewLocal()
	l.Register("demo-echo", func(ctx context.Context, p []byte) ([]byte, error) { return p, nil })
	l.Register("demo-fail", func(ctx context.Context, p []byte) ([]byte, error) {
		return nil, &RejectedError{Reason: "no"}
	})
	return l
}

// The AWS SDK's Lambda client, pointed at our Invoke API endpoint, sees what it
// would see from Lambda: results, function errors with their type, missing functions.
func TestLambdaClientAgainstInvokeAPI(t *testing.T) {
	srv := httptest.NewServer(invoke.APIHandler(local(), "us-east-1", "000000000000"))
	defer srv.Close()
	ctx := context.Background()
	client, err := lambdaclient.New(ctx, srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.Invoke(ctx, "demo-echo", []byte(`{"hello":"world"}`))
	if err != nil || string(out) != `{"hello":"world"}` {
		t.Fatalf("echo: %s %v", out, err)
	}
	_, err = client.Invoke(ctx, "demo-fail", []byte(`{}`))
	var fe *invoke.FunctionError
	if !errors.As(err, &fe) || fe.Type != "RejectedError" || fe.Message != "rejected: no" {
		t.Fatalf("function error: %#v", err)
	}
	_, err = client.Invoke(ctx, "demo-missing", []byte(`{}`))
	if !errors.Is(err, invoke.ErrFunctionNotFound) {
		t.Fatalf("missing: %v", err)
	}
	_, err = client.Invoke(ctx, "demo-echo", []byte(`not json`))
	if err == nil || !strings.Contains(err.Error(), "InvalidRequestContentException") {
		t.Fatalf("bad json: %v", err)
	}
}

func TestLocalMatchesLambdaSemantics(t *testing.T) {
	l := local()
	_, err := l.Invoke(context.Background(), "demo-fail", nil)
	var fe *invoke.FunctionError
	if !errors.As(err, &fe) || fe.Type != "RejectedError" || fe.Function != "demo-fail" {
		t.Fatalf("%#v", err)
	}
	if _, err := l.Invoke(context.Background(), "nope", nil); !errors.Is(err, invoke.ErrFunctionNotFound) {
		t.Fatal(err)
	}
}
