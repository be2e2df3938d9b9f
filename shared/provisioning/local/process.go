package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stratumiops/stratumiops/shared/provisioning"
)

// createProcess starts the HTTP service of a server or service in its own
// data directory, or adopts the one key already runs.
func (p *Provider) createProcess(ctx context.Context, key string, t provisioning.PreparedTask, deps map[string]provisioning.Resource) (provisioning.Resource, error) {
	kindDir := "servers"
	want := 0
	if t.Kind == provisioning.KindService {
		kindDir = "services"
		var s provisioning.ServiceSpec
		_ = json.Unmarshal(t.Spec, &s)
		want = s.Port
	}
	path := filepath.Join(p.cfg.Dir, kindDir, key)
	if port, alive := running(path); alive { // never a second process for one key
		if p.waitHealthy(ctx, path, port) {
			return p.processResource(key, t.Kind, path, port), nil
		}
		_ = stop(path)
	}
	if err := os.MkdirAll(filepath.Join(path, "data"), 0o755); err != nil {
		return provisioning.Resource{}, fmt.Errorf("%s %s: %w", t.Kind, key, err)
	}
	port, err := p.portFor(key, want, deps)
	if err != nil {
		return provisioning.Resource{}, err
	}
	if !bindable(port) {
		return provisioning.Resource{}, fmt.Errorf("%s %s: port %d is taken by another process", t.Kind, key, port)
	}
	logf, err := os.OpenFile(filepath.Join(path, "log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return provisioning.Resource{}, err
	}
	defer logf.Close()
	args := append(append([]string{}, p.cfg.ServerCommand[1:]...), "--dir", filepath.Join(path, "data"), "--port", strconv.Itoa(port))
	cmd := exec.Command(p.cfg.ServerCommand[0], args...)
	cmd.Env = append(os.Environ(), p.cfg.ServerEnv...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // outlives the step; stopped by Delete
	if err := cmd.Start(); err != nil {
		return provisioning.Resource{}, fmt.Errorf("start %s %s: %w", t.Kind, key, err)
	}
	go func() { _ = cmd.Wait() }() // reap it when Delete stops it
	if err := os.WriteFile(filepath.Join(path, "pid"), fmt.Appendf(nil, "%d %d", cmd.Process.Pid, port), 0o644); err != nil {
		return provisioning.Resource{}, err
	}
	if !p.waitHealthy(ctx, path, port) {
		_ = stop(path)
		return provisioning.Resource{}, fmt.Errorf("%s %s: no answer on port %d within %s", t.Kind, key, port, p.cfg.StartTimeout)
	}
	return p.processResource(key, t.Kind, path, port), nil
}

// waitHealthy waits up to StartTimeout for the process of path's pid file
// to answer on port (itself, not another process on that port).
func (p *Provider) waitHealthy(ctx context.Context, path string, port int) bool {
	raw, _ := os.ReadFile(filepath.Join(path, "pid"))
	want := strings.Fields(string(raw))
	deadline := time.Now().Add(p.cfg.StartTimeout)
	for len(want) == 0 || answeringPID(ctx, port) != want[0] {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func (p *Provider) processResource(key, kind, path string, port int) provisioning.Resource {
	raw, _ := os.ReadFile(filepath.Join(path, "pid"))
	f := strings.Fields(string(raw))
	attrs := map[string]string{"port": strconv.Itoa(port), "url": fmt.Sprintf("http://127.0.0.1:%d", port),
		"data_dir": filepath.Join(path, "data")}
	if len(f) > 0 {
		attrs["pid"] = f[0]
	}
	return resource(key, kind, path, attrs)
}

// running reads the process's pid file: its port, and whether it is alive.
func running(path string) (int, bool) {
	raw, err := os.ReadFile(filepath.Join(path, "pid"))
	if err != nil {
		return 0, false
	}
	var pid, port int
	if _, err := fmt.Sscanf(string(raw), "%d %d", &pid, &port); err != nil {
		return 0, false
	}
	return port, syscall.Kill(pid, 0) == nil
}

func healthy(ctx context.Context, port string) bool {
	if port == "" || port == "0" {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:"+port+"/health", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	res.Body.Close()
	return res.StatusCode == http.StatusOK
}

// answeringPID is the pid the service on port reports ("" if none answers).
func answeringPID(ctx context.Context, port int) string {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:"+strconv.Itoa(port)+"/", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	var who struct {
		PID int `json:"pid"`
	}
	if json.NewDecoder(res.Body).Decode(&who) != nil || who.PID == 0 {
		return ""
	}
	return strconv.Itoa(who.PID)
}

// stop ends the process group of the process in path: SIGTERM, then
// SIGKILL if it is still there after 5 seconds.
func stop(path string) error {
	raw, err := os.ReadFile(filepath.Join(path, "pid"))
	if os.IsNotExist(err) {
		return nil
	}
	var pid, port int
	if _, err := fmt.Sscanf(string(raw), "%d %d", &pid, &port); err != nil || pid <= 1 {
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil {
			return nil
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Serve is the HTTP service a local server or service runs: GET /health, and
// GET / telling its data directory. It writes a file in dir so the
// directory shows it ran, and returns when ctx ends.
func Serve(ctx context.Context, dir string, port int) error {
	if err := os.WriteFile(filepath.Join(dir, "started"), []byte(time.Now().UTC().Format(time.RFC3339Nano)), 0o644); err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"ok":true}`)) })
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"dir": dir, "port": port, "pid": os.Getpid()})
	})
	srv := &http.Server{Addr: "127.0.0.1:" + strconv.Itoa(port), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		return err
	}
	return nil
}
