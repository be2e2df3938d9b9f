// Package principal authenticates API callers: a JWT (HS256, signed with a
// key from configuration) or an API key, each carrying the caller's scopes.
// Systems then ask Cedar what the principal may do (shared/platform/authz).
package principal

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// Principal is an authenticated caller.
type Principal struct {
	Subject string
	Scopes  []string
	// Via says how the caller authenticated: "jwt" or "api-key".
	Via string
	// Person is who stands behind the credential, the same whichever one
	// they use: a JWT's subject, or the subject an API key's record names as
	// its owner (a key without an owner stands for itself, "apikey:<name>").
	// Rules about people (nobody approves what they requested) compare it.
	Person string
}

// HasScope reports whether the principal holds scope.
func (p *Principal) HasScope(scope string) bool { return slices.Contains(p.Scopes, scope) }

// ValidScope checks a scope name: 1 to 63 lower-case ASCII letters, digits,
// '-' and '_', starting with a letter or a digit. Kogral gives a graph to the
// scope its id starts with, up to the first '.' ("acme.web" is acme's), so a
// scope named "acme.web" would be reachable by the holder of "acme": names
// with '.' (or anything else a graph id or a Cedar string could read another
// way) are refused wherever a scope is accepted.
func ValidScope(scope string) error {
	if scope == "" || len(scope) > 63 {
		return fmt.Errorf("scope %q: want 1 to 63 characters", scope)
	}
	for i, c := range scope {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		case c == '.':
			return fmt.Errorf("scope %q: '.' is not allowed (a Kogral graph belongs to the scope before its first '.', so %q would belong to %q)",
				scope, scope, scope[:i])
		default:
			return fmt.Errorf("scope %q: %q is not allowed (lower-case letters, digits, '-' and '_', starting with a letter or a digit)", scope, c)
		}
	}
	return nil
}

func validScopes(scopes []string) error {
	for _, s := range scopes {
		if err := ValidScope(s); err != nil {
			return err
		}
	}
	return nil
}

// APIKey is a configured key: only its SHA-256 is kept.
type APIKey struct {
	Name      string   `json:"name"`
	KeySHA256 string   `json:"key_sha256"`
	Scopes    []string `json:"scopes"`
	// Owner is the subject (as in the owner's JWTs) of the person the key
	// belongs to.
	Owner string `json:"owner,omitempty"`
}

// Authenticator checks credentials.
type Authenticator struct {
	jwtKey   []byte
	issuer   string
	audience string
	apiKeys  []APIKey
}

// Config configures an Authenticator. JWTSecret signs tokens (HS256, at
// least 32 bytes); APIKeys is a JSON list of APIKey.
type Config struct {
	JWTSecret string
	Issuer    string
	Audience  string
	APIKeys   string
}

// Issuer and Audience are the JWT claims a system's tokens carry and its
// functions check (iss "stratumiops/<system>", aud "<system>"), so that a
// token minted for one system is refused by every other although they share
// one HS256 secret.
func Issuer(system string) string   { return "stratumiops/" + system }
func Audience(system string) string { return system }

// ForSystem is cfg with the issuer and audience of system, unless cfg
// already names them (a deployment that takes another issuer's tokens).
func (cfg Config) ForSystem(system string) Config {
	if cfg.Issuer == "" {
		cfg.Issuer = Issuer(system)
	}
	if cfg.Audience == "" {
		cfg.Audience = Audience(system)
	}
	return cfg
}

// New validates cfg. With a JWT secret, the issuer and the audience are
// required: every token is checked against both.
func New(cfg Config) (*Authenticator, error) {
	a := &Authenticator{issuer: cfg.Issuer, audience: cfg.Audience}
	if cfg.JWTSecret != "" {
		if len(cfg.JWTSecret) < 32 {
			return nil, errors.New("JWT secret: at least 32 bytes")
		}
		if cfg.Issuer == "" || cfg.Audience == "" {
			return nil, errors.New("JWT secret without an issuer and an audience: a token minted for one system would work in every other")
		}
		a.jwtKey = []byte(cfg.JWTSecret)
	}
	if strings.TrimSpace(cfg.APIKeys) != "" {
		if err := json.Unmarshal([]byte(cfg.APIKeys), &a.apiKeys); err != nil {
			return nil, fmt.Errorf("API keys: want a JSON list of {name, key_sha256, scopes, owner}: %w", err)
		}
		for _, k := range a.apiKeys {
			if raw, err := hex.DecodeString(k.KeySHA256); err != nil || len(raw) != sha256.Size || k.Name == "" {
				return nil, fmt.Errorf("API key %q: want a name and a hex SHA-256", k.Name)
			}
			if err := validScopes(k.Scopes); err != nil {
				return nil, fmt.Errorf("API key %q: %w", k.Name, err)
			}
		}
	}
	if a.jwtKey == nil && len(a.apiKeys) == 0 {
		return nil, errors.New("no credentials configured: set a JWT secret or API keys")
	}
	return a, nil
}

// HashKey is the SHA-256 under which an API key is configured.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// claims are the JWT claims read: scopes as a list ("scopes") or a
// space-separated string ("scope", RFC 8693).
type claims struct {
	jwt.RegisteredClaims
	Scopes []string `json:"scopes,omitempty"`
	Scope  string   `json:"scope,omitempty"`
}

// Issue signs a token for subject with scopes, valid for ttl (tests, the
// devstack's example token, service-to-service calls).
func (a *Authenticator) Issue(subject string, scopes []string, ttl time.Duration) (string, error) {
	if a.jwtKey == nil {
		return "", errors.New("no JWT secret configured")
	}
	if err := validScopes(scopes); err != nil {
		return "", err
	}
	now := time.Now()
	c := claims{RegisteredClaims: jwt.RegisteredClaims{Subject: subject, Issuer: a.issuer, Audience: jwt.ClaimStrings{a.audience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl))}, Scopes: scopes}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(a.jwtKey)
}

var errUnauthenticated = httpapi.Errorf(http.StatusUnauthorized, "unauthenticated",
	"missing credentials: send Authorization: Bearer <JWT> or X-API-Key: <key>")

// Authenticate reads the request's credentials.
func (a *Authenticator) Authenticate(r *http.Request) (*Principal, error) {
	if key := r.Header.Get("X-API-Key"); key != "" {
		return a.apiKey(key)
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil, errUnauthenticated
	}
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return nil, httpapi.Errorf(http.StatusUnauthorized, "unauthenticated", "Authorization: want a Bearer token")
	}
	return a.jwt(strings.TrimSpace(token))
}

func (a *Authenticator) apiKey(key string) (*Principal, error) {
	sum := HashKey(key)
	for _, k := range a.apiKeys {
		if subtle.ConstantTimeCompare([]byte(sum), []byte(strings.ToLower(k.KeySHA256))) == 1 {
			person := k.Owner
			if person == "" {
				person = "apikey:" + k.Name
			}
			return &Principal{Subject: "apikey:" + k.Name, Scopes: k.Scopes, Via: "api-key", Person: person}, nil
		}
	}
	return nil, httpapi.Errorf(http.StatusUnauthorized, "unauthenticated", "unknown API key")
}

func (a *Authenticator) jwt(token string) (*Principal, error) {
	if a.jwtKey == nil {
		return nil, httpapi.Errorf(http.StatusUnauthorized, "unauthenticated", "JWTs are not accepted here")
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithLeeway(30 * time.Second),
		jwt.WithIssuer(a.issuer), jwt.WithAudience(a.audience)}
	var c claims
	if _, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return a.jwtKey, nil }, opts...); err != nil {
		return nil, httpapi.Errorf(http.StatusUnauthorized, "unauthenticated", "invalid token: %v", err)
	}
	if c.Subject == "" {
		return nil, httpapi.Errorf(http.StatusUnauthorized, "unauthenticated", "invalid token: no subject")
	}
	scopes := c.Scopes
	if len(scopes) == 0 && c.Scope != "" {
		scopes = strings.Fields(c.Scope)
	}
	if err := validScopes(scopes); err != nil {
		return nil, httpapi.Errorf(http.StatusUnauthorized, "unauthenticated", "invalid token: %v", err)
	}
	return &Principal{Subject: c.Subject, Scopes: scopes, Via: "jwt", Person: c.Subject}, nil
}

type ctxKey struct{}

// Middleware authenticates every request; a request without valid
// credentials is a 401 and never reaches next.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="stratumiops"`)
			httpapi.Options{}.WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, p)))
	})
}

// From returns the request's principal (set by Middleware).
func From(ctx context.Context) *Principal {
	p, _ := ctx.Value(ctxKey{}).(*Principal)
	return p
}
