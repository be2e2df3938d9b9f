package invoke_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

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

// Our Lambda client and the AWS SDK's, pointed at our Invoke API endpoint,
// see what they would see from Lambda: results, function errors with their
// type, missing functions, bad payloads.
func TestLambdaClientsAgainstInvokeAPI(t *testing.T) {
	srv := httptest.NewServer(invoke.APIHandler(local(), "us-east-1", "000000000000"))
	defer srv.Close()
	ctx := context.Background()
	ours, err := lambdaclient.New(ctx, srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, client := range map[string]invoke.Invoker{"lambdaclient": ours, "aws-sdk-go-v2": sdkClient(srv.URL)} {
		t.Run(name, func(t *testing.T) {
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
		})
	}
}

// sdkClient is the AWS SDK's Lambda client as an Invoker, with the error
// mapping lambdaclient makes.
type sdkInvoker struct{ c *lambda.Client }

func sdkClient(endpoint string) invoke.Invoker {
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	return sdkInvoker{lambda.NewFromConfig(cfg, func(o *lambda.Options) { o.BaseEndpoint = aws.String(endpoint) })}
}

func (s sdkInvoker) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	out, err := s.c.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(function), Payload: payload})
	var nf *types.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		return nil, invoke.ErrFunctionNotFound
	case err != nil:
		return nil, err
	case out.FunctionError != nil:
		var body struct{ ErrorMessage, ErrorType string }
		_ = json.Unmarshal(out.Payload, &body)
		return nil, &invoke.FunctionError{Function: function, Type: body.ErrorType, Message: body.ErrorMessage}
	}
	return out.Payload, nil
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

// A web page may POST text/plain cross-origin without a preflight, and a
// DNS-rebinding page reaches 127.0.0.1 under its own host name: neither may
// invoke a function (seal the dev vault) through the local Invoke API.
func TestInvokeAPIRefusesBrowserRequests(t *testing.T) {
	called := false
	l := invoke.NewLocal()
	l.Register("vault-sys", func(ctx context.Context, p []byte) ([]byte, error) { called = true; return p, nil })
	srv := httptest.NewServer(invoke.APIHandler(l, "us-east-1", "000000000000"))
	defer srv.Close()
	url := srv.URL + "/2015-03-31/functions/vault-sys/invocations"
	for name, set := range map[string]func(*http.Request){
		"cross-origin text/plain": func(r *http.Request) {
			r.Header.Set("Content-Type", "text/plain")
			r.Header.Set("Origin", "https://evil.example")
		},
		"rebound host name": func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=00")
			r.Host = "evil.example:8409"
		},
	} {
		req, _ := http.NewRequest("POST", url, strings.NewReader(`{"path":"/v1/sys/seal"}`))
		set(req)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, res.StatusCode)
		}
	}
	if called {
		t.Fatal("the function ran")
	}
}

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{"127.0.0.1": true, "127.0.0.1:8409": true, "localhost:1": true, "[::1]:80": true, "::1": true,
		"127.9.9.9": true, "0.0.0.0": false, "": false, "::": false, "192.168.1.5": false, "evil.example": false, "localhost.evil.example": false} {
		if got := invoke.LoopbackHost(host); got != want {
			t.Errorf("LoopbackHost(%q) = %v", host, got)
		}
	}
}
