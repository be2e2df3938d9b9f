package emulator

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ColdStart is one fresh execution environment's first invocation, as the
// emulator reports it: Init is the runtime's init phase (process start to
// its first request for work: the function's main, up to lambda.Start),
// Handler the invocation itself, Total the first invoke's round trip seen by
// the caller (emulator start excluded).
type ColdStart struct {
	Init, Handler, Total time.Duration
	// Err is the invocation's error (a function error still has its timings).
	Err error
}

// The emulator's report lines: "INIT REPORT(durationMs: 14.548000)" for the
// init phase and "INVOKE REPORT(durationMs: …)" or "REPORT RequestId: …
// Duration: 1.23 ms" for the invocation.
var (
	initReport   = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	invokeReport = regexp.MustCompile(`(?:INVOKE REPORT\(durationMs: ([0-9.]+)\)|^REPORT RequestId: \S+\s+Duration: ([0-9.]+) ms)`)
)

// ColdStart starts a new execution environment of function outside its pool,
// invokes it once with payload, stops it and returns the timings.
func (e *Emulator) ColdStart(ctx context.Context, function string, payload []byte) (ColdStart, error) {
	p, ok := e.pools[function]
	if !ok {
		return ColdStart{}, fmt.Errorf("cold start of %s: no such function", function)
	}
	var mu sync.Mutex
	var cs ColdStart
	out := &logLines{log: p.log, see: func(line string) {
		mu.Lock()
		defer mu.Unlock()
		if m := initReport.FindStringSubmatch(line); m != nil && cs.Init == 0 {
			cs.Init = millis(m[1])
		}
		if m := invokeReport.FindStringSubmatch(line); m != nil && cs.Handler == 0 {
			cs.Handler = millis(m[1] + m[2])
		}
	}}
	env, err := p.startWith(ctx, out)
	if err != nil {
		return ColdStart{}, err
	}
	began := time.Now()
	_, invokeErr := env.invoke(ctx, p.fn, payload)
	total := time.Since(began)
	_ = env.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-env.exited:
	case <-time.After(3 * time.Second):
		_ = env.cmd.Process.Kill()
		<-env.exited
	}
	p.mu.Lock()
	for i, x := range p.all {
		if x == env {
			p.all = append(p.all[:i], p.all[i+1:]...)
			break
		}
	}
	p.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	cs.Total, cs.Err = total, invokeErr
	if cs.Handler == 0 && cs.Init > 0 && total > cs.Init {
		cs.Handler = total - cs.Init // the emulator printed no invoke report
	}
	return cs, nil
}

func millis(s string) time.Duration {
	f, _ := strconv.ParseFloat(s, 64)
	return time.Duration(f * float64(time.Millisecond))
}
