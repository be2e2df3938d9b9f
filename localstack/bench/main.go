// Command bench is `make bench`: it starts a devstack with persistent storage
// (SurrealDB on surrealkv, as in production) and measures the systems through
// their real clients, printing throughput, p50/p99 and the ratio to the
// reference figures measured on these machines.
//
//	go run ./localstack/bench [-duration 10s] [-clients 10]
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bao "github.com/openbao/openbao/api/v2"

	"github.com/stratumiops/stratumiops/localstack/devstack"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each scenario runs")
	clients := flag.Int("clients", 10, "concurrent clients")
	flag.Parse()
	if err := run(*duration, *clients); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result of one scenario.
type result struct {
	name     string
	ops      int64
	errors   int64
	elapsed  time.Duration
	p50, p99 time.Duration
	target   float64 // req/s the issue asks for
	peer     float64 // OpenBao 2.6.2 on these machines (from the issue)
}

func run(duration time.Duration, clients int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "stratum-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	stack, err := devstack.Start(ctx, devstack.Config{DataDir: dir, EphemeralPorts: true, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	defer stack.Close()
	ep := stack.Endpoints()
	fmt.Printf("devstack up in %d ms, SurrealDB %s\n", ep.StartupMillis, ep.SurrealStorage)

	c, err := client(ep.Gateways["vault"], "")
	if err != nil {
		return err
	}
	init, err := c.Sys().Init(&bao.InitRequest{SecretShares: 1, SecretThreshold: 1})
	if err != nil {
		return err
	}
	if _, err := c.Sys().Unseal(init.Keys[0]); err != nil {
		return err
	}
	c.SetToken(init.RootToken)
	if err := c.Sys().Mount("secret", &bao.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		return err
	}
	const keys = 100
	write := measure("vault KV v2 write", duration, clients, func(i int) error {
		_, err := c.KVv2("secret").Put(ctx, fmt.Sprintf("bench/key-%d", i%keys), map[string]any{"value": i})
		return err
	})
	write.target, write.peer = 400, 392
	read := measure("vault KV v2 read", duration, clients, func(i int) error {
		_, err := c.KVv2("secret").Get(ctx, fmt.Sprintf("bench/key-%d", i%keys))
		return err
	})
	read.target, read.peer = 1000, 976
	fmt.Printf("\n%-22s %9s %8s %9s %9s %8s %14s\n", "scenario", "req/s", "errors", "p50", "p99", "target", "vs OpenBao")
	for _, r := range []result{write, read} {
		rate := float64(r.ops) / r.elapsed.Seconds()
		fmt.Printf("%-22s %9.0f %8d %9s %9s %8.0f %13.2fx\n", r.name, rate, r.errors, r.p50.Round(10*time.Microsecond),
			r.p99.Round(10*time.Microsecond), r.target, rate/r.peer)
	}
	fmt.Println("\n(OpenBao 2.6.2 reference figures were measured on a machine of this kind, as given in the issue;",
		"it is not rebuilt here, so the last column compares against those numbers, not a run beside this one.)")
	return nil
}

func client(addr, token string) (*bao.Client, error) {
	cfg := bao.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	c, err := bao.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	return c, nil
}

// measure runs op from clients goroutines for d and collects latencies.
func measure(name string, d time.Duration, clients int, op func(i int) error) result {
	var n, errs atomic.Int64
	lat := make([][]time.Duration, clients)
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				i := int(n.Add(1))
				t := time.Now()
				if err := op(i); err != nil {
					errs.Add(1)
				}
				lat[w] = append(lat[w], time.Since(t))
			}
		}()
	}
	wg.Wait()
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := result{name: name, ops: int64(len(all)), errors: errs.Load(), elapsed: time.Since(start)}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}
