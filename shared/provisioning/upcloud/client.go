// Package upcloud is Provisioning's upcloud provider over UpCloud's REST API
// 1.3: servers cloned from a public template, private networks (SDN) and
// block storage. UpCloud has no idempotency token: a step run again finds
// what its first run made by the stratum_key label.
package upcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client calls UpCloud's API with basic auth (an API sub-account) or a
// bearer token, read from Credentials before each call (so a rotated
// secret is picked up).
type Client struct {
	// Endpoint is the API's base URL (default https://api.upcloud.com).
	Endpoint    string
	Credentials func(context.Context) (Credentials, error)
	HTTP        *http.Client
}

// Credentials are an API sub-account's username and password, or an API token.
type Credentials struct {
	Username, Password, Token string
}

// Static returns c whatever the context.
func Static(c Credentials) func(context.Context) (Credentials, error) {
	return func(context.Context) (Credentials, error) { return c, nil }
}

// APIError is UpCloud's {"error":{"error_code":…,"error_message":…}}.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("upcloud: %s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// Transient reports whether a later attempt may succeed: server errors,
// rate limiting, a resource in a passing state (SERVER_STATE_ILLEGAL while
// it is in maintenance) and a zone without free resources.
func (e *APIError) Transient() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Code == "SERVER_STATE_ILLEGAL" ||
		e.Code == "SERVER_RESOURCES_UNAVAILABLE" || e.Code == "STORAGE_STATE_ILLEGAL"
}

// NotFound reports a 404 (SERVER_NOT_FOUND, STORAGE_NOT_FOUND, NETWORK_NOT_FOUND…).
func NotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// Do sends in as JSON (nil for no body) and decodes the answer into out.
func (c *Client) Do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(raw)
	}
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = "https://api.upcloud.com"
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(endpoint, "/")+path, body)
	if err != nil {
		return fmt.Errorf("upcloud %s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	creds, err := c.Credentials(ctx)
	if err != nil {
		return fmt.Errorf("upcloud credentials: %w", err)
	}
	if creds.Token != "" {
		req.Header.Set("Authorization", "Bearer "+creds.Token)
	} else {
		req.SetBasicAuth(creds.Username, creds.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("upcloud %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("upcloud %s %s: read answer: %w", method, path, err)
	}
	if res.StatusCode >= 300 {
		var v struct {
			Error struct {
				Code    string `json:"error_code"`
				Message string `json:"error_message"`
			} `json:"error"`
		}
		if json.Unmarshal(raw, &v) != nil || v.Error.Code == "" {
			return &APIError{Status: res.StatusCode, Code: http.StatusText(res.StatusCode), Message: string(raw[:min(len(raw), 200)])}
		}
		return &APIError{Status: res.StatusCode, Code: v.Error.Code, Message: v.Error.Message}
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("upcloud %s %s: not an UpCloud answer: %w", method, path, err)
	}
	return nil
}
