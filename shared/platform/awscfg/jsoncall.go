package awscfg

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Service is an AWS service called with SigV4-signed HTTP requests: Secrets
// Manager (JSON 1.1: POST /, the operation in X-Amz-Target) at every
// function's start, Lambda's Invoke. A function calls one operation of each;
// the SDK's generated clients link their whole request pipeline (endpoint
// rules, retries, middleware) for that, about 1 MB of every bootstrap for
// Secrets Manager and half a megabyte more for Lambda.
type Service struct {
	// Signing is the SigV4 service name ("secretsmanager"); Target the
	// X-Amz-Target prefix ("secretsmanager"); EnvName the suffix of its
	// AWS_ENDPOINT_URL_<EnvName> variable ("SECRETS_MANAGER").
	Signing, Target, EnvName string
	Config                   aws.Config
	// Endpoint overrides AWS_ENDPOINT_URL_<EnvName>, AWS_ENDPOINT_URL and
	// https://<Signing>.<region>.amazonaws.com, in that order.
	Endpoint string
	Client   *http.Client
}

// SecretsManager is the Secrets Manager service of cfg.
func SecretsManager(cfg aws.Config) *Service {
	return &Service{Signing: "secretsmanager", Target: "secretsmanager", EnvName: "SECRETS_MANAGER", Config: cfg}
}

// APIError is an error answer of an AWS service: the exception's name (its
// __type without namespace), its message and the HTTP status.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// HTTPStatusCode is the answer's status, as the SDK's response errors give
// it: the bus tells a throttled or failing AWS API (unavailable, not an
// attempt) from a refusal by it.
func (e *APIError) HTTPStatusCode() int { return e.Status }

// retryable reports an answer worth another attempt: throttling or a server error.
func (e *APIError) retryable() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || strings.Contains(e.Code, "Throttl")
}

func (s *Service) endpoint() string {
	for _, u := range []string{s.Endpoint, os.Getenv("AWS_ENDPOINT_URL_" + s.EnvName), aws.ToString(s.Config.BaseEndpoint),
		os.Getenv("AWS_ENDPOINT_URL")} {
		if u != "" {
			return strings.TrimRight(u, "/")
		}
	}
	return "https://" + s.Signing + "." + s.Config.Region + ".amazonaws.com"
}

// Call runs operation with in as its JSON body and decodes the answer into
// out. An error answer is an *APIError.
func (s *Service) Call(ctx context.Context, operation string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s %s: %w", s.Signing, operation, err)
	}
	header := http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {s.Target + "." + operation}}
	_, raw, err := s.Do(ctx, http.MethodPost, "/", header, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", s.Signing, operation, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: answer is not the JSON expected: %w", s.Signing, operation, err)
	}
	return nil
}

// Do sends a SigV4-signed request (path already escaped) and returns a 2xx
// answer's headers and body. Throttling, server errors and transport errors
// are retried twice with a growing pause; an error answer is an *APIError.
func (s *Service) Do(ctx context.Context, method, path string, header http.Header, body []byte) (http.Header, []byte, error) {
	for attempt := 1; ; attempt++ {
		h, raw, err := s.do(ctx, method, path, header, body)
		var api *APIError
		if err == nil || attempt == 3 || ctx.Err() != nil || (errors.As(err, &api) && !api.retryable()) {
			return h, raw, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt*attempt) * 100 * time.Millisecond):
		}
	}
}

func (s *Service) do(ctx context.Context, method, path string, header http.Header, body []byte) (http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, s.endpoint()+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if s.Config.Credentials == nil {
		return nil, nil, errNoCredentials
	}
	creds, err := s.Config.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), s.Signing, s.Config.Region, time.Now()); err != nil {
		return nil, nil, fmt.Errorf("sign: %w", err)
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return nil, nil, err
	}
	if res.StatusCode/100 != 2 {
		return nil, nil, apiError(res, raw)
	}
	return res.Header, raw, nil
}

// apiError reads an AWS JSON error: {"__type": "[namespace#]Name",
// "message"|"Message": "…"}, or the X-Amzn-ErrorType header.
func apiError(res *http.Response, raw []byte) *APIError {
	var body struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	_ = json.Unmarshal(raw, &body)
	code := body.Type
	if code == "" {
		code = res.Header.Get("X-Amzn-ErrorType")
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	if i := strings.IndexByte(code, ':'); i >= 0 {
		code = code[:i]
	}
	if code == "" {
		code = http.StatusText(res.StatusCode)
	}
	msg := body.Message
	if msg == "" {
		msg = body.Message2
	}
	if msg == "" {
		msg = strings.TrimSpace(string(raw))
	}
	return &APIError{Status: res.StatusCode, Code: code, Message: msg}
}
