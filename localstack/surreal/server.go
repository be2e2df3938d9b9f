// Package surreal runs the local SurrealDB: the Node bridge in server.mjs that
// serves the embedded engine of @surrealdb/node as a standard SurrealDB RPC
// endpoint. It installs the bridge's npm packages when they are missing,
// supervises the process (restarting it if it dies) and stops it on Close.
package surreal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/stratumiops/stratumiops/localstack/tools"
)

// Options configure a local SurrealDB server.
type Options struct {
	// Storage is the engine URL: "rocksdb://<dir>", or "" for RocksDB in a
	// temporary directory removed on Close. "mem://" and "surrealkv://<dir>"
	// lose concurrent updates (see LosesUpdates) and are refused unless
	// AllowLostUpdates is set.
	Storage string
	// AllowLostUpdates lets a storage that loses concurrent updates start,
	// with a warning in the log.
	AllowLostUpdates bool
	// Addr is host:port to bind; empty picks a free port on 127.0.0.1.
	Addr string
	User string
	Pass string
	// Dir holds server.mjs and package.json; empty finds it next to this source file
	// or under the working directory.
	Dir    string
	Logger *slog.Logger
}

// Server is a supervised SurrealDB bridge process.
type Server struct {
	opts    Options
	tempDir string // the RocksDB directory Start made, removed on Close
	url     string
	log     *slog.Logger
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	stop    chan struct{}
	done    chan struct{}
	restart int
}

// Start installs the npm packages if needed, starts the server and waits until it
// accepts connections. The server is restarted whenever it dies, until Close.
func Start(ctx context.Context, opts Options) (*Server, error) {
	var tempDir string
	if opts.Storage == "" {
		dir, err := os.MkdirTemp("", "stratum-surreal-")
		if err != nil {
			return nil, fmt.Errorf("surrealdb temporary storage: %w", err)
		}
		tempDir, opts.Storage = dir, "rocksdb://"+dir
	}
	if opts.User == "" {
		opts.User = "root"
	}
	if opts.Pass == "" {
		opts.Pass = "root"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if LosesUpdates(opts.Storage) {
		if !opts.AllowLostUpdates {
			return nil, &LossyStorageError{Storage: opts.Storage}
		}
		opts.Logger.Warn("SurrealDB storage loses concurrent updates: two writers of one record can both commit and one write is silently lost; use rocksdb:// for anything but a throw-away demo",
			"storage", opts.Storage, "see", "README.md#known-issues")
	}
	dir, err := findDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	opts.Dir = dir
	if err := EnsureInstalled(ctx, dir); err != nil {
		return nil, err
	}
	if opts.Addr == "" {
		port, err := tools.FreePort()
		if err != nil {
			return nil, err
		}
		opts.Addr = "127.0.0.1:" + strconv.Itoa(port)
	}
	s := &Server{opts: opts, tempDir: tempDir, url: "ws://" + opts.Addr, log: opts.Logger.With("component", "surrealdb"),
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := s.spawn(ctx); err != nil {
		return nil, err
	}
	go s.supervise()
	return s, nil
}

// LosesUpdates reports whether the embedded engine's storage is known to lose
// concurrent read-modify-write updates. SurrealDB 3.0.2 (@surrealdb/node
// 3.0.3) on mem:// and surrealkv:// lets two transactions that read and wrote
// one record both commit, without reporting a conflict (measured here: 12–23
// of 1 500 concurrent increments lost); rocksdb:// reports the conflict. The
// upstream fix is surrealkv's first-committer-wins check (surrealdb/surrealkv
// issue 376); TestNoLostUpdates in shared/platform/surreal holds every storage
// the platform runs on to it.
func LosesUpdates(storage string) bool {
	return strings.HasPrefix(storage, "mem://") || strings.HasPrefix(storage, "surrealkv://")
}

// LossyStorageError refuses a storage that loses concurrent updates.
type LossyStorageError struct{ Storage string }

func (e *LossyStorageError) Error() string {
	return fmt.Sprintf("SurrealDB storage %s loses concurrent updates (two writers of one record can both commit); use rocksdb://, or allow it explicitly for a throw-away demo", e.Storage)
}

// URL is the ws:// endpoint (without /rpc, as surrealdb.go expects).
func (s *Server) URL() string { return s.url }

// Storage is where the data lives.
func (s *Server) Storage() string { return s.opts.Storage }

// Restarts counts how often the supervisor brought the server back.
func (s *Server) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restart
}

// Kill ends the current process abruptly, as a crash would; the supervisor restarts it.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return errors.New("surrealdb is not running")
	}
	return s.cmd.Process.Kill()
}

// Close stops supervising and terminates the server.
func (s *Server) Close() error {
	select {
	case <-s.stop:
		return nil
	default:
	}
	close(s.stop)
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	<-s.done
	if s.tempDir != "" {
		return os.RemoveAll(s.tempDir)
	}
	return nil
}

func (s *Server) spawn(ctx context.Context) error {
	cmd := exec.Command("node", filepath.Join(s.opts.Dir, "server.mjs"),
		"--bind", s.opts.Addr, "--path", s.opts.Storage, "--user", s.opts.User, "--pass", s.opts.Pass)
	cmd.Dir = s.opts.Dir
	cmd.Stderr = &logWriter{log: s.log}
	// The server must not outlive us, even if we are killed without cleanup.
	// Its own process group: a Ctrl-C in the terminal reaches the devstack
	// only, which closes its clients first and then stops the server in
	// order (Close), instead of both stopping at once.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("surrealdb stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start surrealdb (node %s): %w", s.opts.Dir, err)
	}
	exited := make(chan struct{})
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		announced := false
		for sc.Scan() {
			var line struct {
				Ready bool `json:"ready"`
			}
			if !announced && json.Unmarshal(sc.Bytes(), &line) == nil && line.Ready {
				announced = true
				ready <- nil
				continue
			}
			s.log.Info(sc.Text())
		}
		if !announced {
			ready <- errors.New("surrealdb exited before it was ready")
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	timer := time.NewTimer(60 * time.Second)
	defer timer.Stop()
	select {
	case err := <-ready:
		if err != nil {
			<-exited
			return fmt.Errorf("start surrealdb on %s: %w", s.opts.Addr, err)
		}
		return nil
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		return ctx.Err()
	case <-timer.C:
		_ = cmd.Process.Kill()
		return fmt.Errorf("surrealdb on %s not ready after 60s", s.opts.Addr)
	}
}

// supervise restarts the server whenever it exits, with a short backoff.
func (s *Server) supervise() {
	defer close(s.done)
	backoff := 100 * time.Millisecond
	for {
		s.mu.Lock()
		exited := s.exited
		s.mu.Unlock()
		select {
		case <-s.stop:
			return
		case <-exited:
		}
		select {
		case <-s.stop:
			return
		case <-time.After(backoff):
		}
		s.log.Warn("surrealdb exited; restarting", "storage", s.opts.Storage)
		if err := s.spawn(context.Background()); err != nil {
			s.log.Error("restart surrealdb", "err", err)
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		s.mu.Lock()
		s.restart++
		s.mu.Unlock()
	}
}

// EnsureInstalled runs `npm ci` in dir when its node_modules lack the engine.
func EnsureInstalled(ctx context.Context, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@surrealdb", "node", "package.json")); err == nil {
		return nil
	}
	cmd := exec.CommandContext(ctx, "npm", "ci", "--legacy-peer-deps", "--no-audit", "--no-fund")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	return nil
}

func findDir(dir string) (string, error) {
	var candidates []string
	if dir != "" {
		candidates = append(candidates, dir)
	}
	if env := os.Getenv("STRATUM_SURREAL_DIR"); env != "" {
		candidates = append(candidates, env)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		candidates = append(candidates, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			candidates = append(candidates, filepath.Join(d, "localstack", "surreal"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, c := range candidates {
		if _, err := os.Stat(filepath.Join(c, "server.mjs")); err == nil {
			return filepath.Abs(c)
		}
	}
	return "", errors.New("localstack/surreal/server.mjs not found: run from the repository or set STRATUM_SURREAL_DIR")
}

// logWriter forwards the server's stderr to slog, a record per line. A
// Rust dbg! print left in the engine ("[src/…/timestamp.rs:12:5] x = [",
// then one line per element) is one Debug record, not a WARN per chunk.
type logWriter struct {
	log     *slog.Logger
	mu      sync.Mutex
	partial []byte   // a line not yet ended
	dbg     []string // the lines of a dbg! print not yet closed
	depth   int      // its open brackets
}

// dbgPrint is the prefix of a Rust dbg! line: [file.rs:line:column].
var dbgPrint = regexp.MustCompile(`^\[[^\]\s]+\.rs:\d+(:\d+)?\] `)

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.line(string(w.partial[:i]))
		w.partial = w.partial[i+1:]
	}
}

func (w *logWriter) line(s string) {
	switch {
	case len(w.dbg) > 0 || dbgPrint.MatchString(s):
		w.dbg = append(w.dbg, s)
		w.depth += strings.Count(s, "[") + strings.Count(s, "{") + strings.Count(s, "(") -
			strings.Count(s, "]") - strings.Count(s, "}") - strings.Count(s, ")")
		if w.depth <= 0 || len(w.dbg) > 10_000 {
			w.log.Debug("surrealdb debug print", "text", strings.Join(w.dbg, "\n"))
			w.dbg, w.depth = nil, 0
		}
	case strings.TrimSpace(s) != "":
		w.log.Warn(s)
	}
}
