package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// Whatever the body, DecodeJSON returns nil or a 4xx *Error, and never panics.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"name":"a","count":1}`, `{"name":`, `[]`, `null`, `{"count":1e400}`, "\xff\xfe", `{"name":"a"}{}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 256)
		var v thing
		err := httpapi.DecodeJSON(r, &v)
		if err == nil {
			return
		}
		var he *httpapi.Error
		if !errors.As(err, &he) || he.Status < 400 || he.Status > 499 || he.Message == "" {
			t.Fatalf("body %q: %#v is not a 4xx with a message", body, err)
		}
	})
}

// Whatever the event, the adapter answers with a status and never panics.
func FuzzLambdaEvent(f *testing.F) {
	f.Add("GET", "/things/x", "a=1", "", false, "c=1")
	f.Add("POST", "/%zz", "%%", "!!", true, "")
	f.Add("", "", "", "", false, "")
	h := http.NewServeMux()
	h.HandleFunc("/things/{id}", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	serve := httpapi.Lambda(h)
	f.Fuzz(func(t *testing.T, method, path, query, body string, b64 bool, cookie string) {
		ev := events.APIGatewayV2HTTPRequest{RawPath: path, RawQueryString: query, Body: body, IsBase64Encoded: b64,
			Cookies: []string{cookie}, Headers: map[string]string{"x-test": cookie}}
		ev.RequestContext.HTTP.Method = method
		res, err := serve(context.Background(), ev)
		if err != nil {
			t.Fatalf("adapter error: %v", err)
		}
		if res.StatusCode < 100 || res.StatusCode > 599 {
			t.Fatalf("status %d", res.StatusCode)
		}
	})
}
