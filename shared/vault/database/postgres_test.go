package database

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestUsernamesAreSafeAndBounded(t *testing.T) {
	now := time.Unix(1795600000, 0)
	for _, c := range []struct{ display, role string }{
		{"token", "readonly"}, {"", ""}, {`x"; DROP ROLE postgres; --`, "r'ole"}, {strings.Repeat("long", 40), strings.Repeat("role", 40)},
	} {
		u := newUsername(c.display, c.role, now)
		if len(u) > maxIdentifier || !strings.HasPrefix(u, "v-") {
			t.Errorf("username %q: %d bytes", u, len(u))
		}
		if strings.ContainsAny(u, `"'; `) {
			t.Errorf("username %q could break out of \"{{name}}\"", u)
		}
	}
	if u1, u2 := newUsername("a", "b", now), newUsername("a", "b", now); u1 == u2 {
		t.Error("two usernames in the same second collide")
	}
	p := newPassword()
	if len(p) != 24 || strings.ContainsAny(p, `'"\`) {
		t.Errorf("password %q", p)
	}
}

func TestSplitStatements(t *testing.T) {
	got := splitStatements([]string{`CREATE ROLE "{{name}}"; GRANT x TO "{{name}}";`, "  ", "DROP ROLE y"})
	if len(got) != 3 || got[2] != "DROP ROLE y" {
		t.Fatalf("%q", got)
	}
}

func TestConnectionURLs(t *testing.T) {
	c := &connection{ConnectionURL: "postgresql://{{username}}:{{password}}@db:5432/app", Username: "ad@min"}
	if got := c.url("p@ss:w/rd"); got != "postgresql://ad%40min:p%40ss%3Aw%2Frd@db:5432/app" {
		t.Errorf("url: %s", got)
	}
	dsn := &connection{ConnectionURL: "host=db user={{username}} password={{password}}", Username: "admin"}
	if got := dsn.url("pw"); got != "host=db user=admin password=pw" {
		t.Errorf("dsn: %s", got)
	}
	if got := redact(errors.New(`cannot parse "postgresql://admin:s3cret@db/app"`)); strings.Contains(got, "s3cret") {
		t.Errorf("password in error: %s", got)
	}
}

// Reading a config never shows a literal password written into
// connection_url; the templates stay as written.
func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgresql://{{username}}:{{password}}@db:5432/app":    "postgresql://{{username}}:{{password}}@db:5432/app",
		"postgresql://admin:s3cret@db:5432/app?sslmode=disable": "postgresql://admin:*****@db:5432/app?sslmode=disable",
		"postgres://admin:p%40ss@db/app":                        "postgres://admin:*****@db/app",
		"postgresql://admin@db/app":                             "postgresql://admin@db/app",
		"postgresql://{{username}}:hunter2@db/app":              "postgresql://{{username}}:*****@db/app",
		"host=db user=admin password=s3cret dbname=app":         "host=db user=admin password=***** dbname=app",
		"host=db user=admin password='s 3cret' dbname=app":      "host=db user=admin password=***** dbname=app",
		"host=db user={{username}} password={{password}}":       "host=db user={{username}} password={{password}}",
	} {
		if got := maskURL(in); got != want {
			t.Errorf("maskURL(%q) = %q, want %q", in, got, want)
		}
	}
}
