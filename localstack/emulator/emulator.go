// Package emulator runs functions' real bootstrap binaries under the AWS
// Lambda runtime interface emulator (aws-lambda-rie), one pool per function.
// Like Lambda, each emulator process (an execution environment) serves one
// invocation at a time; a pool grows on demand up to the function's
// concurrency, and environments start cold on first use.
package emulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/stratumiops/stratumiops/localstack/tools"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// DefaultConcurrency bounds a pool when the catalog reserves none.
const DefaultConcurrency = 8

// Emulator is an invoke.Invoker over emulated execution environments.
type Emulator struct {
	pools map[string]*pool
}

// Config says where the binaries are and what environment they get.
type Config struct {
	RIE     string // path to aws-lambda-rie
	DistDir string // <DistDir>/<function>/bootstrap, built for this machine
	// Env returns the variables of one function's environment (KEY=value).
	Env func(f catalog.Function) []string
	Log *slog.Logger
}

// New prepares a pool per function; no process starts until the first invoke.
func New(cfg Config, fns []catalog.Function) (*Emulator, error) {
	e := &Emulator{pools: map[string]*pool{}}
	for _, f := range fns {
		bootstrap := filepath.Join(cfg.DistDir, f.Name, "bootstrap")
		if _, err := os.Stat(bootstrap); err != nil {
			return nil, fmt.Errorf("function %s: %w (stratum build --arch native)", f.Name, err)
		}
		max := f.Concurrency
		if max == 0 {
			max = DefaultConcurrency
		}
		e.pools[f.Name] = &pool{fn: f, rie: cfg.RIE, bootstrap: bootstrap, env: cfg.Env(f), max: max,
			log: cfg.Log.With("function", f.Name), freed: make(chan struct{}, 1)}
	}
	return e, nil
}

// Invoke runs payload in an idle environment of function, starting one if the pool may grow.
func (e *Emulator) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	p, ok := e.pools[function]
	if !ok {
		return nil, fmt.Errorf("invoke %s: %w", function, invoke.ErrFunctionNotFound)
	}
	return p.invoke(ctx, payload)
}

// Started counts the environments each function has running.
func (e *Emulator) Started() map[string]int {
	out := map[string]int{}
	for name, p := range e.pools {
		p.mu.Lock()
		out[name] = p.running
		p.mu.Unlock()
	}
	return out
}

// Close ends every environment.
func (e *Emulator) Close() {
	for _, p := range e.pools {
		p.close()
	}
}

type pool struct {
	fn        catalog.Function
	rie       string
	bootstrap string
	env       []string
	max       int
	log       *slog.Logger

	mu      sync.Mutex
	idle    []*environment
	all     []*environment
	running int
	freed   chan struct{} // signalled when an environment returns to the pool
}

type environment struct {
	cmd    *exec.Cmd
	url    string
	exited chan struct{}
}

func (p *pool) invoke(ctx context.Context, payload []byte) ([]byte, error) {
	env, err := p.acquire(ctx)
	if err != nil {
		return nil, err
	}
	out, err := env.invoke(ctx, p.fn, payload)
	p.release(env)
	return out, err
}

func (p *pool) acquire(ctx context.Context) (*environment, error) {
	for {
		p.mu.Lock()
		if n := len(p.idle); n > 0 {
			env := p.idle[n-1]
			p.idle = p.idle[:n-1]
			select {
			case <-env.exited: // its process is gone: the pool may start another
				p.running--
				p.mu.Unlock()
				continue
			default:
			}
			p.mu.Unlock()
			return env, nil
		}
		if p.running < p.max {
			p.running++
			p.mu.Unlock()
			env, err := p.start(ctx)
			if err != nil {
				p.mu.Lock()
				p.running--
				p.mu.Unlock()
				return nil, err
			}
			return env, nil
		}
		p.mu.Unlock()
		select {
		case <-p.freed:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// release returns env to the pool, or drops it if its process has died.
func (p *pool) release(env *environment) {
	p.mu.Lock()
	select {
	case <-env.exited:
		p.running--
	default:
		p.idle = append(p.idle, env)
	}
	p.mu.Unlock()
	select {
	case p.freed <- struct{}{}:
	default:
	}
}

func (p *pool) start(ctx context.Context) (*environment, error) {
	return p.startWith(ctx, &logLines{log: p.log})
}

func (p *pool) startWith(ctx context.Context, out *logLines) (*environment, error) {
	// Two ports each: the emulator's invoke endpoint and the Runtime API it
	// serves to the bootstrap (fixed at 9001 unless told otherwise).
	port, err := tools.FreePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := tools.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(p.rie, "--runtime-interface-emulator-address", addr,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort), p.bootstrap)
	cmd.Dir = filepath.Dir(p.bootstrap)
	cmd.Env = append(p.env,
		"AWS_LAMBDA_FUNCTION_NAME="+p.fn.Name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(p.fn.MemoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(int(p.fn.Timeout.Seconds())),
		"PATH="+os.Getenv("PATH"))
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator for %s: %w", p.fn.Name, err)
	}
	env := &environment{cmd: cmd, url: "http://" + addr + "/2015-03-31/functions/function/invocations", exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(env.exited) }()
	if err := tools.WaitForPort(addr, 10*time.Second, env.exited); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("emulator for %s: %w", p.fn.Name, err)
	}
	p.mu.Lock()
	p.all = append(p.all, env)
	p.mu.Unlock()
	p.log.Info("execution environment started", "addr", addr)
	return env, nil
}

// invoke posts one payload. The emulator answers a function error with 200 and
// a bare {"errorMessage","errorType"} body, and a failed init with an empty 502.
func (env *environment) invoke(ctx context.Context, fn catalog.Function, payload []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, fn.Timeout+5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, env.url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", fn.Name, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke %s: %w", fn.Name, err)
	}
	if res.StatusCode != http.StatusOK {
		return nil, &invoke.FunctionError{Function: fn.Name, Type: "Runtime.Failure",
			Message: fmt.Sprintf("execution environment answered %d (init or runtime failure; see its log)", res.StatusCode)}
	}
	if fe := functionError(fn.Name, body); fe != nil {
		return nil, fe
	}
	if len(body) > httpapi.LambdaMaxResponse { // what Lambda answers then, whoever invoked
		return nil, &invoke.FunctionError{Function: fn.Name, Type: "Function.ResponseSizeTooLarge",
			Message: fmt.Sprintf("Response payload size (%d bytes) exceeded maximum allowed payload size (%d bytes).", len(body), httpapi.LambdaMaxResponse)}
	}
	return body, nil
}

// functionError is the function error a 200 answer carries: the runtime's
// {"errorMessage","errorType"}, or the emulator's own plain "Task timed out
// after N.00 seconds", which Lambda reports as a Sandbox.Timedout error.
func functionError(function string, body []byte) *invoke.FunctionError {
	if bytes.HasPrefix(body, []byte("Task timed out after ")) {
		return &invoke.FunctionError{Function: function, Type: "Sandbox.Timedout", Message: string(body)}
	}
	var e map[string]json.RawMessage
	if json.Unmarshal(body, &e) != nil || len(e) > 3 {
		return nil
	}
	var msg, typ string
	if json.Unmarshal(e["errorMessage"], &msg) != nil || json.Unmarshal(e["errorType"], &typ) != nil || typ == "" {
		return nil
	}
	return &invoke.FunctionError{Function: function, Type: typ, Message: msg}
}

func (p *pool) close() {
	p.mu.Lock()
	all := p.all
	p.all, p.idle, p.running = nil, nil, 0
	p.mu.Unlock()
	for _, env := range all {
		_ = env.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, env := range all {
		select {
		case <-env.exited:
		case <-time.After(3 * time.Second):
			_ = env.cmd.Process.Kill()
			<-env.exited
		}
	}
}

// logLines forwards an environment's output (the function's JSON logs and
// the emulator's own lines); see, when set, also gets each line.
type logLines struct {
	log *slog.Logger
	see func(line string)
}

func (l *logLines) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(bytes.TrimRight(p, "\n"), []byte("\n")) {
		if len(line) > 0 {
			l.log.Info("environment output", "line", string(line))
			if l.see != nil {
				l.see(string(line))
			}
		}
	}
	return len(p), nil
}

var _ invoke.Invoker = (*Emulator)(nil)
