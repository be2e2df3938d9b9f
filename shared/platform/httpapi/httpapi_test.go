package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

func loadEvent(t *testing.T) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile("testdata/apigw-v2-request.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestLambdaRequestShape(t *testing.T) {
	ev := loadEvent(t)
	var seen *http.Request
	var body []byte
	mux := http.NewServeMux()
	mux.HandleFunc("POST /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		seen = r
		body, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusCreated)
	})
	res, err := httpapi.Lambda(mux)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusCreated || seen == nil {
		t.Fatalf("status %d, handler reached: %v", res.StatusCode, seen != nil)
	}
	if string(body) != `{"name":"widget"}` {
		t.Errorf("base64 body decoded to %q", body)
	}
	if got := seen.PathValue("id"); got != "a/b" {
		t.Errorf("path param id = %q, want the unescaped a/b", got)
	}
	if got := seen.URL.Query()["tag"]; len(got) != 2 || got[0] != "x" || got[1] != "y" {
		t.Errorf("repeated query = %v", got)
	}
	if c, err := seen.Cookie("theme"); err != nil || c.Value != "dark" {
		t.Errorf("cookie theme: %v %v", c, err)
	}
	if seen.Header.Get("X-Forwarded-For") != "198.51.100.7, 203.0.113.9" {
		t.Errorf("joined header: %q", seen.Header.Get("X-Forwarded-For"))
	}
	if seen.Header.Get(httpapi.RequestIDHeader) != "JKJaXmPLvHcESHA=" {
		t.Errorf("request id from requestContext: %q", seen.Header.Get(httpapi.RequestIDHeader))
	}
	if seen.Host != "abc123.execute-api.eu-west-1.amazonaws.com" || seen.RemoteAddr != "198.51.100.7" {
		t.Errorf("host %q remote %q", seen.Host, seen.RemoteAddr)
	}
	if got, ok := httpapi.EventFromContext(seen.Context()); !ok || got.RouteKey != "POST /things/{id}" {
		t.Errorf("event not in context")
	}
}

func TestLambdaResponseShape(t *testing.T) {
	ev := loadEvent(t)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		w.Header().Add("Vary", "Accept")
		w.Header().Add("Vary", "Origin")
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte{0, 1, 2, 255})
	})
	res, err := httpapi.Lambda(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusAccepted {
		t.Errorf("status %d", res.StatusCode)
	}
	if len(res.Cookies) != 2 || res.Cookies[0] != "a=1" || res.Cookies[1] != "b=2" {
		t.Errorf("cookies %v", res.Cookies)
	}
	if got := res.MultiValueHeaders["Vary"]; len(got) != 2 {
		t.Errorf("multi-value Vary = %v", got)
	}
	if !res.IsBase64Encoded || res.Body != base64.StdEncoding.EncodeToString([]byte{0, 1, 2, 255}) {
		t.Errorf("binary body: base64=%v body=%q", res.IsBase64Encoded, res.Body)
	}

	text := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"ok": "yes"})
	})
	res, _ = httpapi.Lambda(text)(context.Background(), ev)
	if res.IsBase64Encoded || !strings.Contains(res.Body, `"ok":"yes"`) {
		t.Errorf("json body: %+v", res)
	}
}

func TestLambdaBadBase64Is400(t *testing.T) {
	ev := loadEvent(t)
	ev.Body = "!!!not base64"
	res, err := httpapi.Lambda(http.NotFoundHandler())(context.Background(), ev)
	if err != nil || res.StatusCode != http.StatusBadRequest || !strings.Contains(res.Body, "base64") {
		t.Fatalf("res %+v err %v", res, err)
	}
}

type thing struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

func server(t *testing.T, maxBody int64) (*httptest.Server, *bytes.Buffer, *obs.Metrics) {
	t.Helper()
	var logs bytes.Buffer
	m := obs.NewMetrics()
	o := httpapi.Options{Function: "demo", Logger: slog.New(slog.NewJSONHandler(&logs, nil)), MaxBody: maxBody, Metrics: m}
	mux := http.NewServeMux()
	mux.Handle("POST /things", o.Handle(func(w http.ResponseWriter, r *http.Request) error {
		var in thing
		if err := httpapi.DecodeJSON(r, &in); err != nil {
			return err
		}
		if err := httpapi.Require(httpapi.Str("name", in.Name)); err != nil {
			return err
		}
		obs.Log(r.Context()).Info("created")
		httpapi.WriteJSON(w, http.StatusCreated, in)
		return nil
	}))
	mux.Handle("GET /boom", o.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return errors.New("secret detail of a failure")
	}))
	mux.HandleFunc("GET /panic", func(w http.ResponseWriter, r *http.Request) { panic("kaboom") })
	mux.Handle("GET /down", o.Handle(func(w http.ResponseWriter, r *http.Request) error {
		return unavailable{}
	}))
	srv := httptest.NewServer(o.Middleware(mux))
	t.Cleanup(srv.Close)
	return srv, &logs, m
}

type unavailable struct{}

func (unavailable) Error() string   { return "db down" }
func (unavailable) HTTPStatus() int { return http.StatusServiceUnavailable }

type errBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
	} `json:"error"`
}

func do(t *testing.T, srv *httptest.Server, method, path, body string) (*http.Response, errBody) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var eb errBody
	raw, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(raw, &eb)
	return res, eb
}

func TestBadInputGets4xxNamingTheProblem(t *testing.T) {
	srv, _, _ := server(t, 64)
	cases := []struct {
		name, body string
		status     int
		want       string
	}{
		{"malformed", `{"name":`, 400, "malformed JSON"},
		{"syntax", `{"name" "x"}`, 400, "malformed JSON"},
		{"unknown field", `{"name":"x","colour":"red"}`, 400, `unknown field "colour"`},
		{"wrong type", `{"name":"x","count":"three"}`, 400, `field "count": want integer, got string`},
		{"not an object", `[1,2]`, 400, "must be a JSON object, not array"},
		{"empty", ``, 400, "request body is empty"},
		{"two values", `{"name":"x"} {"name":"y"}`, 400, "single JSON value"},
		{"missing required", `{"count":1}`, 400, `field "name" is required`},
		{"oversize", `{"name":"` + strings.Repeat("x", 100) + `"}`, 413, "exceeds 64 bytes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, eb := do(t, srv, "POST", "/things", tc.body)
			if res.StatusCode != tc.status || !strings.Contains(eb.Error.Message, tc.want) {
				t.Fatalf("got %d %q, want %d containing %q", res.StatusCode, eb.Error.Message, tc.status, tc.want)
			}
			if eb.Error.Code == "" || res.Header.Get(httpapi.RequestIDHeader) == "" {
				t.Fatalf("missing code or request id: %+v", eb)
			}
		})
	}
}

func TestChunkedOversizeIs413(t *testing.T) {
	srv, _, _ := server(t, 64)
	req, _ := http.NewRequest("POST", srv.URL+"/things", io.MultiReader(strings.NewReader(`{"name":"`), strings.NewReader(strings.Repeat("y", 500)+`"}`)))
	req.ContentLength = -1 // chunked: the limit must hold without a Content-Length
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", res.StatusCode)
	}
}

func TestErrorsHideDetailAndCarryRequestID(t *testing.T) {
	srv, logs, m := server(t, 0)
	res, eb := do(t, srv, "GET", "/boom", "")
	if res.StatusCode != 500 || strings.Contains(eb.Error.Message, "secret") {
		t.Fatalf("500 leaked or wrong: %d %+v", res.StatusCode, eb)
	}
	if eb.Error.RequestID == "" || eb.Error.RequestID != res.Header.Get(httpapi.RequestIDHeader) {
		t.Fatalf("request id in body %q header %q", eb.Error.RequestID, res.Header.Get(httpapi.RequestIDHeader))
	}
	if !strings.Contains(logs.String(), "secret detail") || !strings.Contains(logs.String(), eb.Error.RequestID) {
		t.Fatalf("log lacks cause or request id: %s", logs)
	}
	res, eb = do(t, srv, "GET", "/panic", "")
	if res.StatusCode != 500 || eb.Error.Code != "internal" {
		t.Fatalf("panic: %d %+v", res.StatusCode, eb)
	}
	res, eb = do(t, srv, "GET", "/down", "")
	if res.StatusCode != 503 || eb.Error.Code != "unavailable" {
		t.Fatalf("unavailable: %d %+v", res.StatusCode, eb)
	}
	if testutilCount(t, m, `stratum_errors_total{function="demo",kind="panic"} 1`) {
		return
	}
	t.Fatal("panic not counted")
}

func TestRequestIDIsEchoedAndOnEveryLogLine(t *testing.T) {
	srv, logs, _ := server(t, 0)
	req, _ := http.NewRequest("POST", srv.URL+"/things", strings.NewReader(`{"name":"a"}`))
	req.Header.Set(httpapi.RequestIDHeader, "caller-chosen-id")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Header.Get(httpapi.RequestIDHeader) != "caller-chosen-id" {
		t.Fatalf("echo %q", res.Header.Get(httpapi.RequestIDHeader))
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("want handler and access lines, got %q", logs)
	}
	for _, l := range lines {
		if !strings.Contains(l, `"request_id":"caller-chosen-id"`) {
			t.Errorf("line without request id: %s", l)
		}
	}
}

func testutilCount(t *testing.T, m *obs.Metrics, want string) bool {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return strings.Contains(rec.Body.String(), want)
}

func TestQueryInt(t *testing.T) {
	r := httptest.NewRequest("GET", "/x?limit=7&bad=7x&big=1000", nil)
	if n, err := httpapi.QueryInt(r, "limit", 10, 1, 100); err != nil || n != 7 {
		t.Fatal(n, err)
	}
	if n, err := httpapi.QueryInt(r, "absent", 10, 1, 100); err != nil || n != 10 {
		t.Fatal(n, err)
	}
	if _, err := httpapi.QueryInt(r, "bad", 10, 1, 100); err == nil {
		t.Fatal("7x accepted")
	}
	if _, err := httpapi.QueryInt(r, "big", 10, 1, 100); err == nil {
		t.Fatal("1000 accepted")
	}
}

func TestMuxPlainErrorsBecomeJSON(t *testing.T) {
	srv, _, _ := server(t, 0)
	res, eb := do(t, srv, "DELETE", "/things", "")
	if res.StatusCode != 405 || eb.Error.Code != "method_not_allowed" || !strings.Contains(eb.Error.Message, "allowed: POST") {
		t.Fatalf("405: %d %+v", res.StatusCode, eb)
	}
	if res.Header.Get("Allow") == "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("headers %v", res.Header)
	}
	res, eb = do(t, srv, "GET", "/nowhere", "")
	if res.StatusCode != 404 || eb.Error.Code != "not_found" {
		t.Fatalf("404: %d %+v", res.StatusCode, eb)
	}
}

func TestContentTypes(t *testing.T) {
	srv, _, _ := server(t, 0)
	for ct, want := range map[string]int{
		"":                                  201,
		"application/json; charset=utf-8":   201,
		"application/x-www-form-urlencoded": 201, // curl -d's default
		"text/xml":                          415,
		"multipart/form-data; boundary=x":   415,
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/things", strings.NewReader(`{"name":"a"}`))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Errorf("%q: %d, want %d", ct, res.StatusCode, want)
		}
	}
}

// A request turned into an event and served by Lambda(h) arrives at h as it
// was sent, and the response comes back as h wrote it.
func TestEventRoundTrip(t *testing.T) {
	h := http.NewServeMux()
	h.HandleFunc("PUT /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c, _ := r.Cookie("s")
		w.Header().Add("Vary", "A")
		w.Header().Add("Vary", "B")
		http.SetCookie(w, &http.Cookie{Name: "n", Value: "1"})
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(207)
		_, _ = w.Write(append([]byte(r.PathValue("id")+"|"+r.URL.Query().Get("q")+"|"+c.Value+"|"), body...))
	})
	req := httptest.NewRequest("PUT", "/things/a%20b?q=1", bytes.NewReader([]byte{0, 255, 1}))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.AddCookie(&http.Cookie{Name: "s", Value: "cookie"})
	ev, err := httpapi.EventFromRequest(req, "PUT /things/{id}", "rid", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	res, err := httpapi.Lambda(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := httpapi.WriteEvent(rec, res); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 207 || rec.Body.String() != "a b|1|cookie|\x00\xff\x01" || len(rec.Header().Values("Vary")) != 2 ||
		rec.Header().Get("Set-Cookie") != "n=1" {
		t.Fatalf("%d %q %v", rec.Code, rec.Body.String(), rec.Header())
	}
}

func TestMuxPattern(t *testing.T) {
	for in, want := range map[[2]string]string{
		{"GET", "/v1/{path+}"}: "GET /v1/{path...}",
		{"ANY", "/mcp"}:        "/mcp",
	} {
		if got := httpapi.MuxPattern(in[0], in[1]); got != want {
			t.Errorf("MuxPattern(%q, %q) = %q, want %q", in[0], in[1], got, want)
		}
	}
}

// The access log names the route the innermost router matched, although it
// matched on a copy of the request made by a layer between (as an auth
// middleware's WithContext), not "/" of the outer catch-all.
func TestAccessLogNamesTheInnerRoute(t *testing.T) {
	var logs bytes.Buffer
	inner := http.NewServeMux()
	o := httpapi.Options{}
	inner.Handle("GET /things/{id}", o.Handle(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}))
	outer := http.NewServeMux()
	outer.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), struct{}{}, 1)))
	}))
	h := httpapi.Options{Function: "demo", Logger: slog.New(slog.NewJSONHandler(&logs, nil))}.Middleware(outer)
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/things/7", nil))
	if !strings.Contains(logs.String(), `"route":"GET /things/{id}"`) {
		t.Fatalf("access log: %s", logs.String())
	}
}
