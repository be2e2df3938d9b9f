package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

type eventKey struct{}

// EventFromContext returns the API Gateway event a request came from, if any.
func EventFromContext(ctx context.Context) (events.APIGatewayV2HTTPRequest, bool) {
	ev, ok := ctx.Value(eventKey{}).(events.APIGatewayV2HTTPRequest)
	return ev, ok
}

// LambdaHandler serves API Gateway HTTP API (payload v2) events with h.
type LambdaHandler func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Lambda adapts an http.Handler to API Gateway HTTP API events.
func Lambda(h http.Handler) LambdaHandler {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		req, err := RequestFromEvent(ctx, ev)
		if err != nil {
			return events.APIGatewayV2HTTPResponse{
				StatusCode: http.StatusBadRequest,
				Headers:    map[string]string{"Content-Type": "application/json"},
				Body:       fmt.Sprintf(`{"error":{"code":"bad_request","message":%q}}`, err.Error()),
			}, nil
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return ResponseToEvent(rec.Result())
	}
}

// RequestFromEvent builds the net/http request that an API Gateway event describes.
func RequestFromEvent(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return nil, fmt.Errorf("body is marked base64 but does not decode: %w", err)
		}
	}
	path := ev.RawPath
	if path == "" {
		path = ev.RequestContext.HTTP.Path
	}
	u := &url.URL{Path: path, RawQuery: ev.RawQueryString}
	if unescaped, err := url.PathUnescape(path); err == nil {
		u.Path, u.RawPath = unescaped, path
	}
	method := ev.RequestContext.HTTP.Method
	if method == "" {
		return nil, fmt.Errorf("event has no requestContext.http.method")
	}
	ctx = context.WithValue(ctx, eventKey{}, ev)
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	req.URL = u
	req.RequestURI = u.RequestURI()
	req.ContentLength = int64(len(body))
	// Payload v2 joins repeated headers with commas, which HTTP defines as
	// equivalent to the repeated header, so each arrives as one value.
	for k, v := range ev.Headers {
		req.Header.Set(k, v)
	}
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	if host := req.Header.Get("Host"); host != "" {
		req.Host = host
	} else {
		req.Host = ev.RequestContext.DomainName
	}
	req.RemoteAddr = ev.RequestContext.HTTP.SourceIP
	if req.Header.Get(RequestIDHeader) == "" {
		if id := ev.RequestContext.RequestID; id != "" {
			req.Header.Set(RequestIDHeader, id)
		} else if lc, ok := lambdacontext.FromContext(ctx); ok {
			req.Header.Set(RequestIDHeader, lc.AwsRequestID)
		}
	}
	for name, value := range ev.PathParameters {
		req.SetPathValue(name, value)
	}
	return req, nil
}

// ResponseToEvent turns a recorded response into the API Gateway response.
// Set-Cookie headers go to Cookies; repeated headers to MultiValueHeaders;
// bodies that are not text are base64-encoded.
func ResponseToEvent(res *http.Response) (events.APIGatewayV2HTTPResponse, error) {
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, fmt.Errorf("read response: %w", err)
	}
	out := events.APIGatewayV2HTTPResponse{StatusCode: res.StatusCode, Headers: map[string]string{}}
	for k, vs := range res.Header {
		if k == "Set-Cookie" {
			out.Cookies = append(out.Cookies, vs...)
			continue
		}
		if len(vs) == 1 {
			out.Headers[k] = vs[0]
			continue
		}
		if out.MultiValueHeaders == nil {
			out.MultiValueHeaders = map[string][]string{}
		}
		out.MultiValueHeaders[k] = vs
		out.Headers[k] = strings.Join(vs, ",")
	}
	if isText(res.Header.Get("Content-Type"), body) {
		out.Body = string(body)
	} else {
		out.Body = base64.StdEncoding.EncodeToString(body)
		out.IsBase64Encoded = true
	}
	return out, nil
}

func isText(contentType string, body []byte) bool {
	if len(body) == 0 {
		return true
	}
	if contentType == "" {
		contentType = http.DetectContentType(body)
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	return strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/xml" || strings.HasSuffix(mt, "+xml") || mt == "application/javascript" ||
		mt == "application/x-www-form-urlencoded" || mt == "application/x-pem-file"
}

// EventFromRequest describes r as API Gateway would deliver it to the function
// behind routeKey (payload v2): the inverse of RequestFromEvent. Bodies are
// base64-encoded unless they are text.
func EventFromRequest(r *http.Request, routeKey, requestID string, maxBody int64) (events.APIGatewayV2HTTPRequest, error) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return events.APIGatewayV2HTTPRequest{}, err
	}
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: routeKey, RawPath: r.URL.EscapedPath(), RawQueryString: r.URL.RawQuery,
		Headers: map[string]string{}, PathParameters: map[string]string{},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: routeKey, RequestID: requestID, Stage: "$default", DomainName: r.Host,
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: r.Method, Path: r.URL.Path,
				Protocol: r.Proto, SourceIP: r.RemoteAddr, UserAgent: r.UserAgent()},
		},
	}
	for k, vs := range r.Header {
		if k == "Cookie" {
			for _, c := range r.Cookies() {
				ev.Cookies = append(ev.Cookies, c.Name+"="+c.Value)
			}
			continue
		}
		ev.Headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = map[string]string{}
		for k, vs := range q {
			ev.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	if isText(r.Header.Get("Content-Type"), body) {
		ev.Body = string(body)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return ev, nil
}

// WriteEvent writes an API Gateway response to w: the inverse of ResponseToEvent.
func WriteEvent(w http.ResponseWriter, res events.APIGatewayV2HTTPResponse) error {
	body := []byte(res.Body)
	if res.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
			return fmt.Errorf("response body marked base64 does not decode: %w", err)
		}
	}
	for k, v := range res.Headers {
		if _, multi := res.MultiValueHeaders[k]; !multi {
			w.Header().Set(k, v)
		}
	}
	for k, vs := range res.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range res.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	status := res.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, err := w.Write(body)
	return err
}
