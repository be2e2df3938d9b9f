// Package vaultkv reads and writes secrets in SecretumVault's KV v2 (any
// Vault-compatible server) over its HTTP API: GET /v1/<mount>/data/<path>
// with X-Vault-Token. It is the few lines a function needs to read its own
// credentials, without the official client's weight.
package vaultkv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client reads one KV v2 mount with one token.
type Client struct {
	addr, token, mount string
	http               *http.Client
}

// New returns a reader of mount (default "secret") at addr with token.
func New(addr, token, mount string) (*Client, error) {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("VAULT_ADDR %q: want an http or https URL", addr)
	}
	if token == "" {
		return nil, errors.New("no vault token (VAULT_TOKEN)")
	}
	if mount == "" {
		mount = "secret"
	}
	return &Client{addr: strings.TrimRight(addr, "/"), token: token, mount: strings.Trim(mount, "/"),
		http: &http.Client{Timeout: 10 * time.Second}}, nil
}

// Error is the vault's refusal ({"errors":[…]}).
type Error struct {
	Status int
	Path   string
	Errors []string
}

func (e *Error) Error() string {
	return fmt.Sprintf("vault: read %s: HTTP %d %s", e.Path, e.Status, strings.Join(e.Errors, "; "))
}

// Missing reports whether err is a secret that does not exist (404).
func Missing(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// Denied reports whether err is the token lacking the right (403).
func Denied(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusForbidden
}

// Secret is a secret's latest version.
type Secret struct {
	Data    map[string]string
	Version int
}

// Read returns the latest version of the secret at path.
func (c *Client) Read(ctx context.Context, path string) (Secret, error) {
	return c.ReadVersion(ctx, path, 0)
}

// ReadVersion returns version n of the secret at path (0: the latest).
func (c *Client) ReadVersion(ctx context.Context, path string, n int) (Secret, error) {
	path = strings.Trim(path, "/")
	query := ""
	if n > 0 {
		query = "?version=" + strconv.Itoa(n)
	}
	var v struct {
		Data     map[string]any `json:"data"`
		Metadata struct {
			Version int `json:"version"`
		} `json:"metadata"`
	}
	if err := c.do(ctx, http.MethodGet, path, query, nil, &v); err != nil {
		return Secret{}, err
	}
	out := Secret{Data: map[string]string{}, Version: v.Metadata.Version}
	for k, val := range v.Data {
		if s, ok := val.(string); ok {
			out.Data[k] = s
		}
	}
	return out, nil
}

// Write stores data as a new version of the secret at path and returns the
// version written.
func (c *Client) Write(ctx context.Context, path string, data map[string]string) (int, error) {
	path = strings.Trim(path, "/")
	var meta struct {
		Version int `json:"version"`
	}
	if err := c.do(ctx, http.MethodPost, path, "", map[string]any{"data": data}, &meta); err != nil {
		return 0, err
	}
	return meta.Version, nil
}

// do sends one request to <mount>/data/<path> and decodes the answer's
// "data" into out; a refusal is an *Error.
func (c *Client) do(ctx context.Context, method, path, query string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.addr+"/v1/"+c.mount+"/data/"+path+query, rd)
	if err != nil {
		return err
	}
	req.Header.Set("X-Vault-Token", c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("vault: %s %s: %w", strings.ToLower(method), path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 != 2 {
		var e struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(raw, &e)
		return &Error{Status: res.StatusCode, Path: c.mount + "/" + path, Errors: e.Errors}
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil || len(env.Data) == 0 {
		return fmt.Errorf("vault: %s %s: not a KV v2 answer: %v", strings.ToLower(method), path, err)
	}
	return json.Unmarshal(env.Data, out)
}
