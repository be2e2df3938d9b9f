package principal

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const secret = "0123456789abcdef0123456789abcdef"

func auth(t *testing.T) *Authenticator {
	t.Helper()
	a, err := New(Config{JWTSecret: secret, APIKeys: `[{"name":"ci","key_sha256":"` + HashKey("k-123") + `","scopes":["acme"]}]`}.ForSystem("vapora"))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func request(header, value string) *http.Request {
	r := httptest.NewRequest("GET", "/", nil)
	if header != "" {
		r.Header.Set(header, value)
	}
	return r
}

func TestCredentials(t *testing.T) {
	a := auth(t)
	good, _ := a.Issue("alice", []string{"acme", "agents"}, time.Hour)
	expired, _ := a.Issue("alice", []string{"acme"}, -time.Hour)
	other, _ := (&Authenticator{jwtKey: []byte("another-secret-another-secret-xx"), issuer: Issuer("vapora"), audience: Audience("vapora")}).Issue("mallory", []string{"acme"}, time.Hour)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{"sub": "eve", "exp": time.Now().Add(time.Hour).Unix(), "scopes": []string{"acme"}})
	unsigned, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	scopeClaim, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "svc", "exp": time.Now().Add(time.Hour).Unix(), "scope": "acme globex",
		"iss": "stratumiops/vapora", "aud": "vapora"}).SignedString([]byte(secret))
	for _, c := range []struct {
		name, header, value string
		subject             string
		scopes              string
	}{
		{"jwt", "Authorization", "Bearer " + good, "alice", "acme,agents"},
		{"space-separated scope claim", "Authorization", "Bearer " + scopeClaim, "svc", "acme,globex"},
		{"api key", "X-API-Key", "k-123", "apikey:ci", "acme"},
		{"no credentials", "", "", "", ""},
		{"expired", "Authorization", "Bearer " + expired, "", ""},
		{"signed by someone else", "Authorization", "Bearer " + other, "", ""},
		{"alg none", "Authorization", "Bearer " + unsigned, "", ""},
		{"basic auth", "Authorization", "Basic YTpi", "", ""},
		{"unknown api key", "X-API-Key", "k-124", "", ""},
	} {
		p, err := a.Authenticate(request(c.header, c.value))
		switch {
		case c.subject == "" && err == nil:
			t.Errorf("%s: accepted as %+v", c.name, p)
		case c.subject != "" && (err != nil || p.Subject != c.subject || strings.Join(p.Scopes, ",") != c.scopes):
			t.Errorf("%s: %+v %v", c.name, p, err)
		}
	}
}

func TestMiddlewareAnswers401(t *testing.T) {
	a := auth(t)
	reached := false
	h := a.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached = From(r.Context()) != nil }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, request("", ""))
	if rec.Code != 401 || rec.Header().Get("WWW-Authenticate") == "" || reached {
		t.Fatalf("no credentials: %d reached=%v", rec.Code, reached)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, request("X-API-Key", "k-123"))
	if rec.Code != 200 || !reached {
		t.Fatalf("api key: %d reached=%v", rec.Code, reached)
	}
}

// One HS256 secret signs every system's tokens: only the issuer and the
// audience keep a token minted for one system out of the others.
func TestTokenOfAnotherSystemIsRefused(t *testing.T) {
	vapora := auth(t)
	kogral, err := New(Config{JWTSecret: secret}.ForSystem("kogral"))
	if err != nil {
		t.Fatal(err)
	}
	forKogral, _ := kogral.Issue("alice", []string{"acme"}, time.Hour)
	if _, err := vapora.Authenticate(request("Authorization", "Bearer "+forKogral)); err == nil || !strings.Contains(err.Error(), "invalid token") {
		t.Fatalf("vapora took kogral's token: %v", err)
	}
	if p, err := kogral.Authenticate(request("Authorization", "Bearer "+forKogral)); err != nil || p.Subject != "alice" {
		t.Fatalf("kogral refused its own token: %v", err)
	}
	now := time.Now()
	for name, c := range map[string]jwt.MapClaims{
		"no issuer nor audience":       {"sub": "eve", "exp": now.Add(time.Hour).Unix()},
		"right audience, other issuer": {"sub": "eve", "exp": now.Add(time.Hour).Unix(), "iss": "stratumiops/kogral", "aud": "vapora"},
		"right issuer, other audience": {"sub": "eve", "exp": now.Add(time.Hour).Unix(), "iss": "stratumiops/vapora", "aud": "kogral"},
	} {
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
		if p, err := vapora.Authenticate(request("Authorization", "Bearer "+tok)); err == nil {
			t.Errorf("%s: accepted as %+v", name, p)
		}
	}
}

func TestConfigIsChecked(t *testing.T) {
	for _, c := range []Config{{}, {JWTSecret: "short"}, {APIKeys: "not json"}, {APIKeys: `[{"name":"x","key_sha256":"zz"}]`},
		{JWTSecret: secret}, {JWTSecret: secret, Issuer: "stratumiops/vapora"}} {
		if _, err := New(c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

// A Kogral graph belongs to the scope before its first '.': a scope named
// "acme.web" would be the acme holder's, so such names are refused in API
// keys, in tokens received and in tokens issued.
func TestScopeNamesWithDotsAreRefused(t *testing.T) {
	for _, bad := range []string{"acme.web", ".acme", "Acme", "acme/web", "acme web", "-acme", "", strings.Repeat("a", 64), "acmé"} {
		if err := ValidScope(bad); err == nil {
			t.Errorf("scope %q accepted", bad)
		}
	}
	for _, good := range []string{"acme", "kogral-admin", "team_2", "a", strings.Repeat("a", 63)} {
		if err := ValidScope(good); err != nil {
			t.Errorf("scope %q refused: %v", good, err)
		}
	}
	_, err := New(Config{APIKeys: `[{"name":"ci","key_sha256":"` + HashKey("k") + `","scopes":["acme.web"]}]`})
	if err == nil || !strings.Contains(err.Error(), `"acme.web"`) || !strings.Contains(err.Error(), "'.'") {
		t.Fatalf("API key with scope acme.web: %v", err)
	}
	a := auth(t)
	if _, err := a.Issue("alice", []string{"acme.web"}, time.Hour); err == nil {
		t.Fatal("issued a token for scope acme.web")
	}
	for name, c := range map[string]jwt.MapClaims{
		"scopes list":  {"scopes": []string{"globex", "acme.web"}},
		"scope string": {"scope": "globex acme.web"},
	} {
		c["sub"], c["exp"], c["iss"], c["aud"] = "eve", time.Now().Add(time.Hour).Unix(), "stratumiops/vapora", "vapora"
		tok, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(secret))
		if p, err := a.Authenticate(request("Authorization", "Bearer "+tok)); err == nil || !strings.Contains(err.Error(), "acme.web") {
			t.Errorf("%s: %+v %v", name, p, err)
		}
	}
}

// One person is one identity whichever credential they use: an API key's
// record names its owner's subject, a JWT carries it.
func TestPersonIsTheSameAcrossCredentials(t *testing.T) {
	a, err := New(Config{JWTSecret: secret, APIKeys: `[{"name":"ci","key_sha256":"` + HashKey("k-1") + `","scopes":["acme"],"owner":"alice"},` +
		`{"name":"bot","key_sha256":"` + HashKey("k-2") + `","scopes":["acme"]}]`}.ForSystem("vapora"))
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := a.Issue("alice", []string{"acme"}, time.Hour)
	byJWT, err1 := a.Authenticate(request("Authorization", "Bearer "+tok))
	byKey, err2 := a.Authenticate(request("X-API-Key", "k-1"))
	bot, err3 := a.Authenticate(request("X-API-Key", "k-2"))
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatal(err1, err2, err3)
	}
	if byJWT.Person != "alice" || byKey.Person != "alice" || byKey.Subject != "apikey:ci" || bot.Person != "apikey:bot" {
		t.Fatalf("persons: jwt %+v key %+v bot %+v", byJWT, byKey, bot)
	}
}
