package devstack

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// An answer whose Lambda payload is over the 6 MB limit reaches the client as
// API Gateway's 500 and is logged as Function.ResponseSizeTooLarge; one just
// under passes unchanged.
func TestAnswerOverLambdaLimitIsTheGatewayError(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	size := 0
	h := lambdaSized("demo-api", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Demo", "1")
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write([]byte(`"` + strings.Repeat("a", size) + `"`))
	}), log)

	size = httpapi.LambdaMaxResponse - 1000
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/a", nil))
	if rec.Code != http.StatusCreated || rec.Body.Len() != size+2 || rec.Header().Get("X-Demo") != "1" {
		t.Fatalf("under the limit: %d, %d bytes, headers %v", rec.Code, rec.Body.Len(), rec.Header())
	}
	if logs.Len() != 0 {
		t.Fatalf("under the limit logged %s", logs.String())
	}

	size = httpapi.LambdaMaxResponse
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/a", nil))
	if rec.Code != http.StatusInternalServerError || strings.TrimSpace(rec.Body.String()) != `{"message":"Internal Server Error"}` {
		t.Fatalf("over the limit: %d %.200s", rec.Code, rec.Body.String())
	}
	if !strings.Contains(logs.String(), `"errorType":"Function.ResponseSizeTooLarge"`) ||
		!strings.Contains(logs.String(), `"function":"demo-api"`) {
		t.Fatalf("log: %s", logs.String())
	}
}
