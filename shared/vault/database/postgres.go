package database

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// Plugin is the only plugin_name this engine serves.
const Plugin = "postgresql-database-plugin"

// maxIdentifier is PostgreSQL's NAMEDATALEN-1: longer names are truncated
// silently by the server, so we never make one.
const maxIdentifier = 63

const connectTimeout = 5 * time.Second

// connection is a database/config/<name> entry (sealed: it holds the
// root password).
type connection struct {
	PluginName             string   `json:"plugin_name"`
	ConnectionURL          string   `json:"connection_url"`
	Username               string   `json:"username"`
	Password               string   `json:"password"`
	AllowedRoles           []string `json:"allowed_roles"`
	VerifyConnection       bool     `json:"verify_connection"`
	RootRotationStatements []string `json:"root_rotation_statements"`
	// PendingPassword is a rotate-root in flight: set before ALTER ROLE runs,
	// so a crash between the two never loses the working password.
	PendingPassword string `json:"pending_password,omitempty"`
}

// url renders connection_url with the given credentials.
func (c *connection) url(password string) string {
	user, pass := c.Username, password
	if strings.Contains(c.ConnectionURL, "://") {
		user = url.User(user).String()
		pass = strings.TrimPrefix(url.UserPassword("", pass).String(), ":")
	}
	return strings.NewReplacer("{{username}}", user, "{{password}}", pass).Replace(c.ConnectionURL)
}

// connect opens a connection with the root credentials; a pending password
// left by an interrupted rotate-root is tried when the stored one fails.
func (c *connection) connect(ctx context.Context) (*pgconn.PgConn, error) {
	conn, err := dial(ctx, c.url(c.Password))
	if err != nil && c.PendingPassword != "" && isAuthFailure(err) {
		return dial(ctx, c.url(c.PendingPassword))
	}
	return conn, err
}

// dial uses pgx's connection layer (pgconn) directly: the engine only runs
// statements, and leaving out pgx's type system keeps the Lambda small.
func dial(ctx context.Context, connURL string) (*pgconn.PgConn, error) {
	cfg, err := pgconn.ParseConfig(connURL)
	if err != nil {
		return nil, engine.Invalid("invalid connection_url: %v", redact(err))
	}
	cfg.ConnectTimeout = connectTimeout
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		if isAuthFailure(err) {
			return nil, engine.Invalid("cannot log in to the database: %v", redact(err))
		}
		return nil, &keeper.UpstreamError{Msg: fmt.Sprintf("database unreachable: %v", redact(err))}
	}
	return conn, nil
}

func isAuthFailure(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "28P01" || pe.Code == "28000")
}

// redact keeps passwords out of error messages (pgx quotes the DSN on parse errors).
var passwordInURL = regexp.MustCompile(`(://[^:/@]*:)[^@]*@`)

func redact(err error) string { return passwordInURL.ReplaceAllString(err.Error(), "${1}*****@") }

// passwordInDSN is a password=value pair of a key/value connection string
// (the value quoted or up to the next space).
var passwordInDSN = regexp.MustCompile(`(?i)(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s']\S*)`)

// maskURL hides a literal password in connection_url as Vault does when a
// config is read: the userinfo password of a URL, or a key/value string's
// password=, becomes *****; the {{password}} template stays as written.
func maskURL(raw string) string {
	if strings.Contains(raw, "://") {
		return passwordInURL.ReplaceAllStringFunc(raw, func(m string) string {
			scheme, rest, _ := strings.Cut(m, "://")
			user, pass, _ := strings.Cut(strings.TrimSuffix(rest, "@"), ":")
			if pass == "{{password}}" {
				return m
			}
			return scheme + "://" + user + ":*****@"
		})
	}
	return passwordInDSN.ReplaceAllStringFunc(raw, func(m string) string {
		sub := passwordInDSN.FindStringSubmatch(m)
		if sub[2] == "{{password}}" || sub[2] == "'{{password}}'" {
			return m
		}
		return sub[1] + "*****"
	})
}

// statementError turns a PostgreSQL error into a 400 with the database's own
// message; anything else is the database being unavailable.
func statementError(what string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return engine.Invalid("%s: %s (SQLSTATE %s)", what, pe.Message, pe.Code)
	}
	var inv *keeper.InvalidError
	var up *keeper.UpstreamError
	if errors.As(err, &inv) || errors.As(err, &up) {
		return err
	}
	return &keeper.UpstreamError{Msg: fmt.Sprintf("%s: %v", what, err)}
}

// splitStatements splits each entry on ';' as Vault does; empty parts go.
func splitStatements(entries []string) []string {
	var out []string
	for _, e := range entries {
		for _, s := range strings.Split(e, ";") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// runStatements executes statements in one transaction: all or nothing, so
// a failed creation leaves no half-made login behind.
func runStatements(ctx context.Context, conn *pgconn.PgConn, statements []string, vars map[string]string) error {
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		pairs = append(pairs, "{{"+k+"}}", v)
	}
	replace := strings.NewReplacer(pairs...)
	exec := func(sql string) error {
		_, err := conn.Exec(ctx, sql).ReadAll()
		return err
	}
	if err := exec("BEGIN"); err != nil {
		return err
	}
	for _, s := range splitStatements(statements) {
		if err := exec(replace.Replace(s)); err != nil {
			_ = exec("ROLLBACK") // if the session broke instead, the server rolls back
			return err
		}
	}
	return exec("COMMIT")
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomString(n int, alphabet string) string {
	var b strings.Builder
	for range n {
		i, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			panic(err) // crypto/rand does not fail on Linux
		}
		b.WriteByte(alphabet[i.Int64()])
	}
	return b.String()
}

// newPassword is 24 characters with every class present, and no quote or
// backslash, so it is safe inside '{{password}}'.
func newPassword() string {
	for {
		p := randomString(20, alnum) + "-" + randomString(3, alnum)
		if strings.ContainsAny(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") && strings.ContainsAny(p, "abcdefghijklmnopqrstuvwxyz") &&
			strings.ContainsAny(p, "0123456789") {
			return p
		}
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_]+`)

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// newUsername follows Vault's PostgreSQL template,
// v-<display name>-<role>-<random 20>-<unix time>, cut to 63 bytes; only
// letters, digits, '_' and '-', so it is safe inside "{{name}}".
func newUsername(displayName, role string, now time.Time) string {
	clean := func(s string) string { return truncate(unsafeName.ReplaceAllString(s, "_"), 8) }
	name := fmt.Sprintf("v-%s-%s-%s-%s", clean(displayName), clean(role), randomString(20, alnum), strconv.FormatInt(now.Unix(), 10))
	return truncate(name, maxIdentifier)
}

// expiration is {{expiration}} in statements, as Vault formats it.
func expiration(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05-0700") }

// defaultRevocation drops a dynamic login and what it owns in the
// connection's database.
var defaultRevocation = []string{
	`REASSIGN OWNED BY "{{name}}" TO CURRENT_USER`,
	`DROP OWNED BY "{{name}}"`,
	`DROP ROLE IF EXISTS "{{name}}"`,
}

// defaultRotation sets a static role's or the root's password.
var defaultRotation = []string{`ALTER ROLE "{{name}}" WITH PASSWORD '{{password}}'`}
