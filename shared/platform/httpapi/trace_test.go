package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// A request continues its caller's trace (traceparent, else the
// X-Amzn-Trace-Id that API Gateway adds) or starts one, in its context.
func TestMiddlewareCarriesTrace(t *testing.T) {
	var got obs.Trace
	h := httpapi.Options{}.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = obs.TraceFrom(r.Context())
	}))
	for header, want := range map[string]string{
		"traceparent":     "4bf92f3577b34da6a3ce929d0e0e4736",
		"X-Amzn-Trace-Id": "5759e988bd862e3fe1be46a994272793",
		"":                "",
	} {
		req := httptest.NewRequest("GET", "/x", nil)
		switch header {
		case "traceparent":
			req.Header.Set(header, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		case "X-Amzn-Trace-Id":
			req.Header.Set(header, "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
		}
		got = obs.Trace{}
		h.ServeHTTP(httptest.NewRecorder(), req)
		if len(got.TraceID) != 32 || (want != "" && got.TraceID != want) || got.SpanID == "00f067aa0ba902b7" {
			t.Errorf("%q: trace %+v, want trace id %q in a new span", header, got, want)
		}
	}
}
