// Package postgres starts a throw-away PostgreSQL cluster for tests: initdb
// into a temporary directory, a server on a free loopback port with
// password (SCRAM) authentication, removed again on Close. PostgreSQL
// refuses to run as root, so under root the cluster runs as nobody.
// `make test` installs PostgreSQL from Debian's packages when it is missing
// (scripts/install-postgres.sh).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/stratumiops/stratumiops/localstack/tools"
)

// Superuser is the cluster's superuser; its password is Server.Password.
const Superuser = "postgres"

// Server is a running cluster.
type Server struct {
	Host     string
	Port     int
	Password string
	dir      string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// ErrNotInstalled means no PostgreSQL binaries were found.
var ErrNotInstalled = errors.New("PostgreSQL is not installed (initdb not found): run scripts/install-postgres.sh, or `make test`, which does")

// binDir finds the directory holding initdb and postgres.
func binDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("postgres"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		return "", ErrNotInstalled
	}
	return filepath.Dir(matches[len(matches)-1]), nil
}

// Start creates and starts a cluster.
func Start(ctx context.Context) (_ *Server, err error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "stratum-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{Host: "127.0.0.1", Password: "pg-" + strconv.FormatInt(time.Now().UnixNano(), 36), dir: dir, exited: make(chan struct{})}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	cred, err := runAs(dir)
	if err != nil {
		return nil, err
	}
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(s.Password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(pwfile, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), "-D", data, "-U", Superuser, "--pwfile", pwfile,
		"--auth=scram-sha-256", "--encoding=UTF8", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if s.Port, err = tools.FreePort(); err != nil {
		return nil, err
	}
	s.cmd = exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(s.Port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=100")
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	logFile, err := os.Create(filepath.Join(dir, "postgres.log"))
	if err != nil {
		return nil, err
	}
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	go func() { _ = s.cmd.Wait(); _ = logFile.Close(); close(s.exited) }()
	if err := tools.WaitForPort(net.JoinHostPort(s.Host, strconv.Itoa(s.Port)), 30*time.Second, s.exited); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
		return nil, fmt.Errorf("postgres did not start: %w\n%s", err, log)
	}
	// The port opens before recovery ends ("the database system is starting up").
	for deadline := time.Now().Add(30 * time.Second); ; {
		conn, err := pgx.Connect(ctx, s.URL(Superuser, s.Password))
		if err == nil {
			_ = conn.Close(ctx)
			return s, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("postgres is not accepting connections: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runAs returns nobody's credentials when running as root (and hands it
// dir), nil otherwise.
func runAs(dir string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("running as root and there is no user nobody to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// URL is a connection URL for user and password to the postgres database.
func (s *Server) URL(user, password string) string {
	return fmt.Sprintf("postgres://%s:%s@%s:%d/postgres?sslmode=disable", user, password, s.Host, s.Port)
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Close stops the server and removes the cluster.
func (s *Server) Close() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
		}
	}
	_ = os.RemoveAll(s.dir)
}
