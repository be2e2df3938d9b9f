package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// initTarget is the cold start's init phase p50 the issue asks for.
const initTarget = 50 * time.Millisecond

// benchColdStarts runs every function's bootstrap under the Lambda runtime
// emulator (a devstack of its own with LambdaRuntime, which builds them for
// this machine) and measures, `runs` times each, a fresh execution
// environment's first invocation: init and handler apart, as the emulator
// reports them. HTTP functions get GET /health/live, consumers an empty
// batch (so their first use applies the schema), invoke functions {}.
func benchColdStarts(ctx context.Context, runs int, names []string) error {
	dir, err := os.MkdirTemp("", "stratum-cold-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	began := time.Now()
	stack, err := devstack.Start(ctx, devstack.Config{DataDir: filepath.Join(dir, "data"), EphemeralPorts: true,
		Log: slog.New(slog.DiscardHandler), LambdaRuntime: true, SurrealEngine: engine, AllowLostUpdates: engine != "rocksdb"})
	if err != nil {
		return err
	}
	defer stack.Close()
	emu := stack.Emulator()
	fmt.Printf("\ncold starts under the Lambda runtime emulator (devstack with native bootstraps up in %s; %d fresh environments each)\n",
		time.Since(began).Round(time.Second), runs)
	fmt.Printf("%-28s %-9s %10s %11s %10s %12s %s\n", "function", "kind", "init p50", "handler p50", "first p50", "init target", "")
	over := 0
	for _, f := range catalog.Functions {
		if len(names) > 0 && !slices.Contains(names, f.Name) {
			continue
		}
		payload, err := coldPayload(f)
		if err != nil {
			return err
		}
		var inits, handlers, totals []time.Duration
		var lastErr error
		for range runs {
			cs, err := emu.ColdStart(ctx, f.Name, payload)
			if err != nil {
				return err
			}
			inits, handlers, totals = append(inits, cs.Init), append(handlers, cs.Handler), append(totals, cs.Total)
			if cs.Err != nil {
				lastErr = cs.Err
			}
		}
		p50 := median(inits)
		mark := "ok"
		if p50 > initTarget {
			mark, over = "OVER", over+1
		}
		note := ""
		if lastErr != nil {
			note = "(answered an error: " + lastErr.Error() + ")"
		}
		fmt.Printf("%-28s %-9s %10s %11s %10s %12s %s %s\n", f.Name, f.Kind, p50.Round(100*time.Microsecond),
			median(handlers).Round(100*time.Microsecond), median(totals).Round(100*time.Microsecond), "≤"+initTarget.String(), mark, note)
	}
	fmt.Printf("%d function(s) over the init target\n", over)
	return nil
}

func coldPayload(f catalog.Function) ([]byte, error) {
	switch f.Kind {
	case catalog.HTTP:
		ev, err := httpapi.EventFromRequest(httptest.NewRequest("GET", "/health/live", nil), "GET /health/live", httpapi.NewRequestID(), 1<<20)
		if err != nil {
			return nil, err
		}
		return json.Marshal(ev)
	case catalog.Consumer:
		return []byte(`{"deliveries":[]}`), nil
	}
	return []byte(`{}`), nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
