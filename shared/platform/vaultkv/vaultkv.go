// Package vaultkv reads secrets from SecretumVault's KV v2 (any
// Vault-compatible server) over its HTTP API: GET /v1/<mount>/data/<path>
// with X-Vault-Token. It is the few lines a function needs to read its own
// credentials, without the official client's weight.
package vaultkv

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
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
	path = strings.Trim(path, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.addr+"/v1/"+c.mount+"/data/"+path, nil)
	if err != nil {
		return Secret{}, err
	}
	req.Header.Set("X-Vault-Token", c.token)
	res, err := c.http.Do(req)
	if err != nil {
		return Secret{}, fmt.Errorf("vault: read %s: %w", path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		e := &Error{Status: res.StatusCode, Path: c.mount + "/" + path}
		var body struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(raw, &body)
		e.Errors = body.Errors
		return Secret{}, e
	}
	var v struct {
		Data struct {
			Data     map[string]any `json:"data"`
			Metadata struct {
				Version int `json:"version"`
			} `json:"metadata"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return Secret{}, fmt.Errorf("vault: read %s: not a KV v2 answer: %w", path, err)
	}
	out := Secret{Data: map[string]string{}, Version: v.Data.Metadata.Version}
	for k, val := range v.Data.Data {
		if s, ok := val.(string); ok {
			out.Data[k] = s
		}
	}
	return out, nil
}
