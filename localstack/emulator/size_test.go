package emulator

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// An answer over Lambda's response limit is the function error Lambda
// reports, Function.ResponseSizeTooLarge; one at the limit is the answer.
func TestAnswerOverTheLimitIsAFunctionError(t *testing.T) {
	size := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`"` + strings.Repeat("a", size-2) + `"`))
	}))
	defer srv.Close()
	env := &environment{url: srv.URL}
	fn := catalog.Function{Name: "demo-api", Timeout: time.Second}
	size = httpapi.LambdaMaxResponse
	if out, err := env.invoke(context.Background(), fn, []byte(`{}`)); err != nil || len(out) != size {
		t.Fatalf("at the limit: %d bytes, %v", len(out), err)
	}
	size++
	_, err := env.invoke(context.Background(), fn, []byte(`{}`))
	var fe *invoke.FunctionError
	if !errors.As(err, &fe) || fe.Type != "Function.ResponseSizeTooLarge" || !strings.Contains(fe.Message, "(6291557 bytes)") {
		t.Fatalf("over the limit: %v", err)
	}
}
