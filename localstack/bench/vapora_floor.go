package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// benchFloor times what every board operation pays besides its own work,
// in the same minutes as the board's figures: a request through the gateway
// that reads nothing (a status move of a malformed id: authenticated, then
// 400), one that reads one record (a project), one SurrealDB round trip, one
// trivial write transaction (its commit syncs the WAL) and one JetStream
// publish. A board operation cannot be faster than the ones it is made of.
func benchFloor(ep devstack.Endpoints, api *vaporaClient, project string, d time.Duration) ([]result, error) {
	ctx := context.Background()
	db := surreal.New(surreal.Config{URL: ep.Surreal, User: "root", Pass: "root", Namespace: surreal.Namespace, Database: "bench_floor"}, nil)
	defer db.Close()
	if _, err := surreal.Query[any](ctx, db, "DEFINE TABLE IF NOT EXISTS floor SCHEMALESS", nil); err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	// What the devstack's own pollers and schedules cost with no request at
	// all, per second: part of every scenario's CPU per operation.
	cpu0, db0, t0 := processCPU(), surrealCPU(), time.Now()
	time.Sleep(d)
	secs := time.Since(t0).Seconds()
	fmt.Printf("idle devstack: bench process CPU %.0f ms/s, SurrealDB CPU %.0f ms/s\n",
		float64((processCPU()-cpu0).Milliseconds())/secs, float64((surrealCPU()-db0).Milliseconds())/secs)
	const timed = 1
	noRead := measureDB("floor: PUT, auth only", d, timed, func(int) error {
		err := api.do("PUT", "/tasks/not!an-id/status", map[string]any{"status": "Todo"}, nil)
		if err == nil || !strings.HasSuffix(err.Error(), ": 400") {
			return fmt.Errorf("want a 400, got %v", err)
		}
		return nil
	})
	oneRead := measureDB("floor: GET, 1 record read", d, timed, func(int) error {
		return api.do("GET", "/projects/"+project, nil, nil)
	})
	trip := measureDB("floor: SurrealDB RETURN 1", d, timed, func(int) error {
		_, err := surreal.Query[int](ctx, db, "RETURN 1", nil)
		return err
	})
	write := measureDB("floor: SurrealDB write txn", d, timed, func(i int) error {
		_, err := surreal.Query[any](ctx, db, surreal.Atomic("UPSERT floor:one SET n += 1 RETURN NONE;"), nil)
		return err
	})
	publish, err := benchPublishFloor(ctx, ep, d)
	if err != nil {
		return nil, err
	}
	return []result{noRead, oneRead, trip, write, publish}, nil
}

// benchPublishFloor times one JetStream publish as the functions announce a
// board change (bus.Publish: file storage, a message id, the ack awaited),
// on a stream of its own so that no consumer runs.
func benchPublishFloor(ctx context.Context, ep devstack.Endpoints, d time.Duration) (result, error) {
	b, err := bus.Connect(ctx, ep.NATS, "bench-floor", nil)
	if err != nil {
		return result{}, fmt.Errorf("floor: %w", err)
	}
	defer b.Close()
	if err := b.EnsureStreams(ctx, []catalog.Stream{{Name: "BENCH_FLOOR", Subjects: []string{"benchfloor.>"}, MaxAge: 24 * time.Hour}}); err != nil {
		return result{}, fmt.Errorf("floor: %w", err)
	}
	return measureDB("floor: NATS publish", d, 1, func(i int) error {
		_, err := b.Publish(ctx, "benchfloor.x", fmt.Sprint("m", i), map[string]any{"i": i}, nil)
		return err
	}), nil
}

// surrealCPU is the CPU time, user and system, that this process's child
// SurrealDB servers (node … server.mjs) have used, so that a scenario's
// database cost per operation can be told apart from the functions'.
func surrealCPU() time.Duration {
	self := strconv.Itoa(os.Getpid())
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var total time.Duration
	for _, dir := range dirs {
		cmd, err := os.ReadFile(dir + "/cmdline")
		if err != nil || !bytes.Contains(cmd, []byte("server.mjs")) {
			continue
		}
		stat, err := os.ReadFile(dir + "/stat")
		if err != nil {
			continue
		}
		// After the command's closing parenthesis: state ppid … utime(14) stime(15).
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 13 || f[1] != self {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		s, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(u+s) * (time.Second / 100) // clock ticks (USER_HZ 100)
	}
	return total
}

// dbCPU is the SurrealDB CPU time each scenario measureDB timed used, and
// dbTrips the queries this process sent meanwhile.
var (
	dbCPU   = map[string]time.Duration{}
	dbTrips = map[string]int64{}
)

// measureDB is measure, noting SurrealDB's CPU time over the run too, and
// the round trips to SurrealDB of the in-process functions (the consumers an
// operation's event wakes included).
func measureDB(name string, d time.Duration, clients int, op func(i int) error) result {
	before, trips := surrealCPU(), surreal.RoundTrips()
	r := measure(name, d, clients, op)
	dbCPU[name], dbTrips[name] = surrealCPU()-before, surreal.RoundTrips()-trips
	return r
}

// printCPU prints the CPU time per operation of each scenario: this
// process's (the client and the in-process functions) and SurrealDB's.
func printCPU(results []result) {
	fmt.Printf("\n%-28s %8s %12s %14s %12s\n", "scenario", "ops", "bench CPU/op", "surreal CPU/op", "queries/op")
	for _, r := range results {
		db, trips := "-", "-"
		if c, ok := dbCPU[r.name]; ok && r.ops > 0 {
			db = (c / time.Duration(r.ops)).Round(time.Microsecond).String()
			trips = fmt.Sprintf("%.2f", float64(dbTrips[r.name])/float64(r.ops))
		}
		fmt.Printf("%-28s %8d %12s %14s %12s\n", r.name, r.ops, r.cpuPerOp().Round(time.Microsecond), db, trips)
	}
}
