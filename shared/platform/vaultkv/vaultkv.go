// Package vaultkv reads and writes secrets in SecretumVault's KV v2 (any
// Vault-compatible server) over its HTTP API: GET /v1/<mount>/data/<path>
// with X-Vault-Token, the token given or one from an AppRole login. It is
// the few lines a function needs to read its own credentials, without the
// official client's weight.
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
	"sync"
	"time"
)

// Client reads one KV v2 mount with a token: a fixed one, or one it gets
// by logging in with an AppRole and gets again before it expires or when
// the vault refuses it.
type Client struct {
	addr, mount string
	http        *http.Client
	login       *appRole // nil: token is fixed

	mu      sync.Mutex
	token   string
	renewAt time.Time // an AppRole token's: log in again from then
}

// appRole is the role_id and secret_id a client logs in with.
type appRole struct{ roleID, secretID string }

// FromEnv returns a client of mount at addr authenticated as the
// function's environment says: VAULT_ROLE_ID and VAULT_SECRET_ID (an
// AppRole at auth/approle/) when set, VAULT_TOKEN otherwise.
func FromEnv(addr string, env func(string) string, mount string) (*Client, error) {
	roleID, secretID := env("VAULT_ROLE_ID"), env("VAULT_SECRET_ID")
	if roleID == "" && secretID == "" {
		return New(addr, env("VAULT_TOKEN"), mount)
	}
	if roleID == "" || secretID == "" {
		return nil, errors.New("an AppRole login needs both VAULT_ROLE_ID and VAULT_SECRET_ID")
	}
	c, err := newClient(addr, mount)
	if err != nil {
		return nil, err
	}
	c.login = &appRole{roleID: roleID, secretID: secretID}
	return c, nil
}

// New returns a reader of mount (default "secret") at addr with token.
func New(addr, token, mount string) (*Client, error) {
	if token == "" {
		return nil, errors.New("no vault token (VAULT_TOKEN)")
	}
	c, err := newClient(addr, mount)
	if err != nil {
		return nil, err
	}
	c.token = token
	return c, nil
}

func newClient(addr, mount string) (*Client, error) {
	u, err := url.Parse(addr)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("VAULT_ADDR %q: want an http or https URL", addr)
	}
	if mount == "" {
		mount = "secret"
	}
	return &Client{addr: strings.TrimRight(addr, "/"), mount: strings.Trim(mount, "/"),
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
// "data" into out; a refusal is an *Error. An AppRole client whose token is
// refused and no longer known (revoked, expired early) logs in again once
// and retries.
func (c *Client) do(ctx context.Context, method, path, query string, body, out any) error {
	for attempt := 0; ; attempt++ {
		token, err := c.currentToken(ctx)
		if err != nil {
			return err
		}
		raw, err := c.send(ctx, method, "/v1/"+c.mount+"/data/"+path+query, token, body)
		var e *Error
		if errors.As(err, &e) && e.Status == http.StatusForbidden && c.login != nil && attempt == 0 && !c.alive(ctx, token) {
			c.forget(token) // revoked or expired early: log in again, once
			continue
		}
		if errors.As(err, &e) {
			e.Path = c.mount + "/" + path
		}
		if err != nil {
			return err
		}
		var env struct {
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(raw, &env); err != nil || len(env.Data) == 0 {
			return fmt.Errorf("vault: %s %s: not a KV v2 answer: %v", strings.ToLower(method), path, err)
		}
		return json.Unmarshal(env.Data, out)
	}
}

// send makes one request with token and returns the 2xx answer's body.
func (c *Client) send(ctx context.Context, method, urlPath, token string, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.addr+urlPath, rd)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("vault: %s %s: %w", strings.ToLower(method), urlPath, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 != 2 {
		var e struct {
			Errors []string `json:"errors"`
		}
		_ = json.Unmarshal(raw, &e)
		return nil, &Error{Status: res.StatusCode, Path: strings.TrimPrefix(urlPath, "/v1/"), Errors: e.Errors}
	}
	return raw, nil
}

// currentToken is the token to send: the fixed one, or an AppRole login's,
// logging in when there is none or it is in the last fifth of its life.
func (c *Client) currentToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.login == nil || (c.token != "" && time.Now().Before(c.renewAt)) {
		return c.token, nil
	}
	raw, err := c.send(ctx, http.MethodPost, "/v1/auth/approle/login", "",
		map[string]string{"role_id": c.login.roleID, "secret_id": c.login.secretID})
	if err != nil {
		return "", fmt.Errorf("vault AppRole login: %w", err)
	}
	var res struct {
		Auth struct {
			ClientToken   string `json:"client_token"`
			LeaseDuration int64  `json:"lease_duration"`
		} `json:"auth"`
	}
	if err := json.Unmarshal(raw, &res); err != nil || res.Auth.ClientToken == "" {
		return "", fmt.Errorf("vault AppRole login: no token in the answer: %v", err)
	}
	c.token = res.Auth.ClientToken
	c.renewAt = time.Now().Add(time.Duration(res.Auth.LeaseDuration) * time.Second * 4 / 5)
	if res.Auth.LeaseDuration == 0 { // a token that does not expire
		c.renewAt = time.Now().Add(100 * 365 * 24 * time.Hour)
	}
	return c.token, nil
}

// alive reports whether the vault still knows token (lookup-self answers):
// a 403 with a live token is a missing grant, which a new login (spending
// one of a limited secret_id's uses) would not cure.
func (c *Client) alive(ctx context.Context, token string) bool {
	_, err := c.send(ctx, http.MethodGet, "/v1/auth/token/lookup-self", token, nil)
	return err == nil
}

// forget drops token if it is still the one held, so the next call logs in.
func (c *Client) forget(token string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == token {
		c.token = ""
	}
}
