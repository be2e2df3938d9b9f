// Package surreal is the only package that talks to SurrealDB. It connects and
// signs in from the environment, redials when the connection is lost, runs the
// schema migrations of one database, and offers typed query helpers.
package surreal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	surrealdb "github.com/surrealdb/surrealdb.go"
	"github.com/surrealdb/surrealdb.go/pkg/connection"
	"github.com/surrealdb/surrealdb.go/pkg/connection/gws"
	"github.com/surrealdb/surrealdb.go/pkg/logger"
)

// Namespace holds every system's database.
const Namespace = "portfolio"

// ErrUnavailable means SurrealDB could not be reached. It reports HTTP status
// 503 (httpapi.StatusCoder), so HTTP functions answer "unavailable", not 500.
var ErrUnavailable error = unavailableError{}

type unavailableError struct{}

func (unavailableError) Error() string   { return "surrealdb unavailable" }
func (unavailableError) HTTPStatus() int { return 503 }

// Config says where and as whom to connect.
type Config struct {
	URL       string // ws://host:port (the SDK appends /rpc)
	User      string
	Pass      string
	Namespace string
	Database  string
	// Level is where User is defined: LevelRoot ("" too) or LevelDatabase, a
	// user of Database only (DEFINE USER … ON DATABASE), as functions are.
	Level string
	// Timeout bounds each round trip; a request that exceeds it drops the connection.
	Timeout time.Duration
	// Credentials, if set, gives User and Pass at each sign-in (a secret
	// that rotates, read through a cache); refresh asks past the cache, which
	// a sign-in refused with the cached password does once. User and Pass
	// are then what it returns.
	Credentials func(ctx context.Context, refresh bool) (user, pass string, err error)
	// CA, PEM, is the only root a wss:// server's certificate may chain to
	// (SURREAL_CA: the self-hosted SurrealDB's private CA); "" trusts the
	// system roots.
	CA string
}

// Where a user is defined (Config.Level).
const (
	LevelRoot     = "root"
	LevelDatabase = "database"
)

func (c Config) level() string {
	if c.Level == "" {
		return LevelRoot
	}
	return c.Level
}

// ConfigFromEnv reads SURREAL_URL, SURREAL_USER, SURREAL_PASS,
// SURREAL_NAMESPACE, SURREAL_CA and SURREAL_LEVEL (root or database; when unset, a user
// named root is root's and any other a database user); database is the
// system's own database.
func ConfigFromEnv(database string) Config {
	cfg := Config{
		URL:       envOr("SURREAL_URL", "ws://127.0.0.1:8000"),
		User:      envOr("SURREAL_USER", "root"),
		Pass:      envOr("SURREAL_PASS", "root"),
		Namespace: envOr("SURREAL_NAMESPACE", Namespace),
		Database:  database,
		Level:     os.Getenv("SURREAL_LEVEL"),
		CA:        os.Getenv("SURREAL_CA"),
		Timeout:   10 * time.Second,
	}
	if cfg.Level == "" && cfg.User != "root" {
		cfg.Level = LevelDatabase
	}
	return cfg
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// Client is a SurrealDB connection that redials on the next call after a failure.
// It is safe for concurrent use.
type Client struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	db *surrealdb.DB
}

// New returns a client; it connects on first use.
func New(cfg Config, log *slog.Logger) *Client {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &Client{cfg: cfg, log: log.With("component", "surreal", "database", cfg.Database)}
}

// Database is the database this client uses.
func (c *Client) Database() string { return c.cfg.Database }

// Close drops the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dropLocked()
	return nil
}

func (c *Client) dropLocked() {
	if c.db != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = c.db.Close(ctx)
		cancel()
	}
	c.db = nil
}

// handle returns the current connection, dialling and signing in if there is
// none. A connection is dropped (markBroken) by the first call that fails on it
// for any reason other than a SurrealDB error, so the next call redials.
//
// The transport is the SDK's gws connection: its gorillaws one keeps reading a
// reset socket until gorilla panics in a background goroutine, which would take
// the whole process down when SurrealDB restarts.
func (c *Client) handle(ctx context.Context) (*surrealdb.DB, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db != nil {
		return c.db, nil
	}
	u, err := url.ParseRequestURI(c.cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("SURREAL_URL %q: %w", c.cfg.URL, err)
	}
	dialCtx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	if u, err = c.dialURL(dialCtx, u); err != nil {
		return nil, err
	}
	conf := connection.NewConfig(u)
	conf.Logger = logger.New(quietClose{c.log.Handler()})
	conf.Marshaler, conf.Unmarshaler = codec{}, codec{}
	conn := gws.New(conf)
	db, err := surrealdb.FromConnection(dialCtx, conn)
	if err != nil {
		return nil, fmt.Errorf("%w: dial %s: %v", ErrUnavailable, c.cfg.URL, err)
	}
	if err := c.signIn(dialCtx, db); err != nil {
		_ = db.Close(dialCtx)
		return nil, err
	}
	if err := db.Use(dialCtx, c.cfg.Namespace, c.cfg.Database); err != nil {
		_ = db.Close(dialCtx)
		return nil, fmt.Errorf("use %s/%s: %w", c.cfg.Namespace, c.cfg.Database, err)
	}
	c.db = db
	return db, nil
}

// signIn authenticates db as the configured user. A database user signs in
// to its namespace and database; root (the only one allowed to) also defines
// them, so a fresh server needs no set-up.
func (c *Client) signIn(ctx context.Context, db *surrealdb.DB) error {
	user, pass := c.cfg.User, c.cfg.Pass
	for refresh := false; ; refresh = true {
		if c.cfg.Credentials != nil {
			var err error
			if user, pass, err = c.cfg.Credentials(ctx, refresh); err != nil {
				return fmt.Errorf("%w: surreal credentials: %v", ErrUnavailable, err)
			}
		}
		creds := map[string]any{"user": user, "pass": pass}
		if c.cfg.Level == LevelDatabase {
			creds["ns"], creds["db"] = c.cfg.Namespace, c.cfg.Database
		}
		_, err := db.SignIn(ctx, creds)
		if err == nil {
			break
		}
		if c.cfg.Credentials == nil || refresh {
			return fmt.Errorf("surreal sign in as %s user %q: %w", c.cfg.level(), user, err)
		}
		c.log.Warn("sign-in refused with the cached password; reading the secret again", "err", err)
	}
	if c.cfg.Level == LevelDatabase {
		return nil
	}
	define := fmt.Sprintf("DEFINE NAMESPACE IF NOT EXISTS %s; USE NS %s; DEFINE DATABASE IF NOT EXISTS %s;",
		ident(c.cfg.Namespace), ident(c.cfg.Namespace), ident(c.cfg.Database))
	for attempt := 0; ; attempt++ {
		_, err := surrealdb.Query[any](ctx, db, define, nil)
		if err == nil {
			return nil
		}
		// Connections dialled at once define the same namespace and conflict.
		if !strings.Contains(err.Error(), "can be retried") || attempt == conflictRetries || waitConflict(ctx, attempt) != nil {
			return fmt.Errorf("define %s/%s: %w", c.cfg.Namespace, c.cfg.Database, err)
		}
	}
}

// quietClose drops the error record that the SDK's gws transport writes on
// every Close: it closes the socket twice and reports the second close.
type quietClose struct{ slog.Handler }

func (h quietClose) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "failed to close underlying network connection" {
		return nil
	}
	return h.Handler.Handle(ctx, r)
}

func (h quietClose) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietClose{h.Handler.WithAttrs(attrs)}
}

func (h quietClose) WithGroup(name string) slog.Handler { return quietClose{h.Handler.WithGroup(name)} }

// markBroken drops db if it is still the current connection, so the next call redials.
func (c *Client) markBroken(db *surrealdb.DB) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.db == db {
		c.log.Warn("surreal connection lost; will redial")
		c.dropLocked()
	}
}

// Ping checks that SurrealDB answers a query.
func (c *Client) Ping(ctx context.Context) error {
	_, err := Query[int](ctx, c, "RETURN 1", nil)
	return err
}

// QueryError is a statement that SurrealDB rejected (bad input, constraint, ...).
type QueryError struct {
	Statement int
	Message   string
	// Statements is how many statements the query had.
	Statements int
}

func (e *QueryError) Error() string { return fmt.Sprintf("statement %d: %s", e.Statement, e.Message) }

// Retryable reports an optimistic-concurrency conflict that SurrealDB says may be retried.
func (e *QueryError) Retryable() bool { return strings.Contains(e.Message, "can be retried") }

// HTTPStatus makes a write conflict that outlasted its retries a 503 (the
// record is too contended right now; try again), and any other failed
// statement a 500.
func (e *QueryError) HTTPStatus() int {
	if e.Retryable() {
		return 503
	}
	return 500
}

// Transactional reports whether sql is one explicit transaction: BEGIN … COMMIT.
func Transactional(sql string) bool {
	s := strings.ToUpper(strings.TrimSpace(sql))
	end := strings.TrimRight(s, "; \t\n")
	return strings.HasPrefix(s, "BEGIN") && (strings.HasSuffix(end, "COMMIT") || strings.HasSuffix(end, "COMMIT TRANSACTION"))
}

// Atomic wraps statements in one transaction: they all commit or none does,
// and a write conflict retries them all.
func Atomic(statements string) string {
	return "BEGIN TRANSACTION;\n" + statements + "\nCOMMIT TRANSACTION;"
}

// conflictRetries bounds the retries of a query that hit a retryable write
// conflict; each waits a jittered, doubling delay of at most maxConflictBackoff.
const (
	conflictRetries    = 12
	maxConflictBackoff = 50 * time.Millisecond
)

// Query runs sql (one or more statements) and decodes the result of the last
// statement into T. Any failed statement returns a *QueryError; a lost connection
// returns an error wrapping ErrUnavailable.
func Query[T any](ctx context.Context, c *Client, sql string, vars map[string]any) (T, error) {
	var zero T
	results, err := queryAll[T](ctx, c, sql, vars)
	if err != nil {
		return zero, err
	}
	if len(results) == 0 {
		return zero, nil
	}
	return results[len(results)-1].Result, nil
}

// QueryAll runs sql and returns every statement's result decoded into T.
func QueryAll[T any](ctx context.Context, c *Client, sql string, vars map[string]any) ([]T, error) {
	results, err := queryAll[T](ctx, c, sql, vars)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(results))
	for i, r := range results {
		out[i] = r.Result
	}
	return out, nil
}

// queryAll runs sql, retrying it when it fails on a write conflict that
// SurrealDB marks as retryable and the query is atomic: one statement, or one
// explicit transaction (whose BEGIN and COMMIT results it drops). Each
// statement of any other query is a transaction of its own, so some may have
// committed: such a query is not run again (wrap it with Atomic).
func queryAll[T any](ctx context.Context, c *Client, sql string, vars map[string]any) ([]surrealdb.QueryResult[T], error) {
	tx := Transactional(sql)
	res, err := retryConflicts[T](ctx, c, sql, vars, tx)
	if err == nil && tx && len(res) >= 2 {
		res = res[1 : len(res)-1]
	}
	return res, err
}

func retryConflicts[T any](ctx context.Context, c *Client, sql string, vars map[string]any, tx bool) ([]surrealdb.QueryResult[T], error) {
	redialed := false
	for attempt := 0; ; attempt++ {
		res, err := queryOnce[T](ctx, c, sql, vars)
		if errors.Is(err, errNotSent) && !redialed {
			// The connection was found dead before the query reached the
			// server (SurrealDB restarted since it was last used): nothing ran,
			// so it is safe to try once more on a fresh connection.
			redialed = true
			continue
		}
		var qe *QueryError
		if !errors.As(err, &qe) || !qe.Retryable() || attempt == conflictRetries || !(tx || qe.Statements == 1) {
			return res, err
		}
		if waitConflict(ctx, attempt) != nil {
			return nil, err
		}
	}
}

// waitConflict waits before retry attempt+1 of a conflicted write: a
// jittered, doubling delay of at most twice maxConflictBackoff.
func waitConflict(ctx context.Context, attempt int) error {
	backoff := min(time.Duration(1<<attempt)*time.Millisecond, maxConflictBackoff)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(backoff + time.Duration(rand.Int64N(int64(backoff)))):
		return nil
	}
}

// roundTrips counts the queries this process sent (RoundTrips).
var roundTrips atomic.Int64

// RoundTrips is how many queries this process's clients have sent to
// SurrealDB, each one round trip: a benchmark divides it by its operations.
func RoundTrips() int64 { return roundTrips.Load() }

func queryOnce[T any](ctx context.Context, c *Client, sql string, vars map[string]any) (_ []surrealdb.QueryResult[T], err error) {
	roundTrips.Add(1)
	db, err := c.handle(ctx)
	if err != nil {
		return nil, err
	}
	// The SDK dereferences the reply without checking it; a connection that dies
	// mid-call must read as unavailability, not crash the request.
	defer func() {
		if p := recover(); p != nil {
			c.markBroken(db)
			err = fmt.Errorf("%w: surrealdb client failed: %v", ErrUnavailable, p)
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, callTimeout(ctx, c.cfg.Timeout))
	defer cancel()
	res, err := surrealdb.Query[T](ctx, db, sql, exactTimes(vars))
	if res != nil {
		// Statement errors come back alongside the results: report the first
		// one that says why. In a failed transaction every other statement
		// reads "not executed due to a failed transaction"; the cause (a
		// THROW, a conflict) is further on.
		var first *QueryError
		for i, r := range *res {
			if r.Error == nil {
				continue
			}
			qe := &QueryError{Statement: i, Message: r.Error.Message, Statements: len(*res)}
			if !strings.Contains(r.Error.Message, "failed transaction") {
				return nil, qe
			}
			if first == nil {
				first = qe
			}
		}
		if first != nil {
			return nil, first
		}
		if err == nil {
			return *res, nil
		}
	}
	var rpcErr *connection.RPCError
	var rpcVal connection.RPCError
	switch {
	case err == nil:
		// The SDK's gws transport can answer (nil, nil) for a connection it
		// found closed before sending (it publishes the close before its error).
		c.markBroken(db)
		return nil, fmt.Errorf("%w: %w: no reply", ErrUnavailable, errNotSent)
	case errors.As(err, &rpcErr):
		return nil, &QueryError{Message: rpcErr.Error()}
	case errors.As(err, &rpcVal):
		return nil, &QueryError{Message: rpcVal.Error()}
	case strings.Contains(err.Error(), "failed to unmarshal"):
		// The query ran; its result does not fit T. A bug, not an outage.
		return nil, fmt.Errorf("decode query result: %w", err)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		// Sent, perhaps executed, no answer: the connection can't be trusted.
		c.markBroken(db)
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	default:
		// A closed socket or a failed write: the server never got the query.
		c.markBroken(db)
		return nil, fmt.Errorf("%w: %w: %v", ErrUnavailable, errNotSent, err)
	}
}

// errNotSent marks a failure of the connection before the query reached the server.
var errNotSent = errors.New("query not sent")

// deadlineMargin is the part of a caller's deadline (a Lambda's) that a query
// leaves unused, so the caller can still answer 503 itself. It matters because
// the SDK's transport notices a dead connection only before sending: a query
// in flight when SurrealDB dies waits for its deadline.
const deadlineMargin = 500 * time.Millisecond

func callTimeout(ctx context.Context, timeout time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if rem := time.Until(dl) - deadlineMargin; rem < timeout {
			return max(rem, time.Millisecond)
		}
	}
	return timeout
}

// RecordLiteral writes the record id table:id as SurrealQL, both parts
// quoted, for where SurrealQL takes no parameter (a record range such as
// `table:id>..`). id is a string id.
func RecordLiteral(table, id string) string { return ident(table) + ":" + ident(id) }

// ident quotes a SurrealDB identifier with backticks.
func ident(name string) string {
	return "`" + escapeIdent(name) + "`"
}

func escapeIdent(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '`' || r == '\\' {
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}
