// Command bench is `make bench`: it starts a devstack with persistent storage
// (SurrealDB on RocksDB, as a production server runs) and measures the systems through
// their real clients, printing throughput, p50/p99 and the ratio to the
// reference figures measured on these machines.
//
// Last, each function's cold start under the Lambda runtime emulator (init
// and handler apart, against the 50 ms init target) in a devstack of its own.
//
//	go run ./localstack/bench [-duration 10s] [-clients 10] [-only vault,openbao,vapora,ui,pipelines,provisioning,kogral,typedialog,coldstart] [-surreal-engine rocksdb]
//	    [-cold-runs 5] [-cold-functions vault-sys,kogral-mcp]
package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bao "github.com/openbao/openbao/api/v2"

	"github.com/stratumiops/stratumiops/localstack/devstack"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each scenario runs")
	clients := flag.Int("clients", 10, "concurrent clients")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process (clients and in-process functions) here")
	flag.StringVar(&only, "only", "", "run only these systems' scenarios: a comma-separated list of vault, openbao, vapora, ui (Vapora's page in Chromium), pipelines, llm, provisioning, kogral, typedialog, coldstart")
	coldRuns := flag.Int("cold-runs", 5, "fresh execution environments per function in the cold start scenario")
	coldFunctions := flag.String("cold-functions", "", "measure the cold starts of these functions only (comma-separated; default all)")
	flag.StringVar(&engine, "surreal-engine", "rocksdb", "SurrealDB storage engine: rocksdb, or surrealkv to measure what the lossy engine costs")
	flag.Parse()
	// The in-process functions log through the default logger too: quiet it.
	slog.SetDefault(slog.New(slog.DiscardHandler))
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	var err error
	if slices.ContainsFunc([]string{"vault", "openbao", "vapora", "ui", "pipelines", "llm", "provisioning", "kogral", "typedialog"}, want) {
		err = run(*duration, *clients)
	}
	if err == nil && want("coldstart") {
		var names []string
		if *coldFunctions != "" {
			names = strings.Split(*coldFunctions, ",")
		}
		err = benchColdStarts(context.Background(), *coldRuns, names)
	}
	if err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// only limits the scenarios to some systems ("" = all).
var only string

// engine is the local SurrealDB's storage engine.
var engine string

func want(system string) bool { return only == "" || slices.Contains(strings.Split(only, ","), system) }

// result of one scenario.
type result struct {
	name      string
	ops       int64
	errors    int64
	elapsed   time.Duration
	p50, p99  time.Duration
	target    float64       // per second, as the issue asks
	p99Target time.Duration // or a latency bound
	peer      float64       // OpenBao 2.6.2 on these machines (from the issue)
}

func run(duration time.Duration, clients int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "stratum-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	stack, err := devstack.Start(ctx, devstack.Config{DataDir: dir, EphemeralPorts: true, Log: slog.New(slog.DiscardHandler),
		SurrealEngine: engine, AllowLostUpdates: engine != "rocksdb"})
	if err != nil {
		return err
	}
	defer stack.Close()
	ep := stack.Endpoints()
	fmt.Printf("devstack up in %d ms, SurrealDB %s\n", ep.StartupMillis, ep.SurrealStorage)

	var results []result
	var pqc string
	if want("vault") {
		vault, ratios, err := benchVault(ctx, ep, duration, clients)
		if err != nil {
			return err
		}
		results, pqc = append(results, vault...), ratios
	}
	if want("openbao") {
		if err := benchOpenBaoOnDevstack(ctx, ep, duration, clients); err != nil {
			return err
		}
	}
	if want("vapora") {
		vapora, err := benchVapora(ctx, ep, clients)
		if err != nil {
			return err
		}
		results = append(results, vapora...)
		boards, err := benchBoards(ep, clients, 3*time.Second)
		if err != nil {
			return err
		}
		results = append(results, boards...)
	}
	if want("ui") {
		ui, err := benchUI(ep, clients)
		if err != nil {
			return err
		}
		results = append(results, ui...)
	}
	if want("pipelines") {
		pl, err := benchPipelineRuns(ctx, ep)
		if err != nil {
			return err
		}
		results = append(results, pl...)
	}
	if want("llm") {
		llmResults, err := benchLLM(ep, duration)
		if err != nil {
			return err
		}
		results = append(results, llmResults...)
	}
	if want("provisioning") {
		pr, err := benchProvisioning(ctx, ep)
		if err != nil {
			return err
		}
		results = append(results, pr...)
	}
	if want("kogral") {
		kg, err := benchKogral(ctx, ep)
		if err != nil {
			return err
		}
		results = append(results, kg...)
	}
	if want("typedialog") {
		td, err := benchTypeDialog(ep, duration, clients)
		if err != nil {
			return err
		}
		results = append(results, td...)
	}
	printResults(results, pqc)
	return nil
}

// printResults prints the scenarios' figures beside their targets.
func printResults(results []result, pqc string) {
	if len(results) == 0 {
		return
	}
	fmt.Printf("\n%-28s %9s %8s %9s %9s %8s %14s\n", "scenario", "per s", "errors", "p50", "p99", "target", "vs OpenBao")
	for _, r := range results {
		vs := "n/a"
		if r.peer != 0 {
			vs = fmt.Sprintf("%.2fx", r.rate()/r.peer)
		}
		target := fmt.Sprintf("%.0f", r.target)
		if r.target == 0 {
			target = "-"
		}
		if r.p99Target != 0 {
			target = "p99≤" + r.p99Target.String()
		}
		fmt.Printf("%-28s %9.0f %8d %9s %9s %8s %14s\n", r.name, r.rate(), r.errors, r.p50.Round(10*time.Microsecond),
			r.p99.Round(10*time.Microsecond), target, vs)
	}
	if pqc != "" {
		fmt.Println("\n" + pqc)
	}
	fmt.Println("\n(OpenBao 2.6.2 reference figures were measured on a machine of this kind, as given in the issue;",
		"it is not rebuilt here, so the last column compares against those numbers, not a run beside this one.)")
}

// benchVault measures KV v2 and transit through the Vault client.
func benchVault(ctx context.Context, ep devstack.Endpoints, duration time.Duration, clients int) ([]result, string, error) {
	c, err := client(ep.Gateways["vault"], "", clients)
	if err != nil {
		return nil, "", err
	}
	root, err := devVaultRoot(c)
	if err != nil {
		return nil, "", err
	}
	c.SetToken(root)
	if err := c.Sys().Mount("secret", &bao.MountInput{Type: "kv", Options: map[string]string{"version": "2"}}); err != nil {
		return nil, "", err
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
	transit, err := benchTransit(ctx, c, duration, clients)
	if err != nil {
		return nil, "", err
	}
	aes, aesTarget := transit[0].rate(), transit[0].target
	ratios := fmt.Sprintf("post-quantum vs aes256-gcm96 encrypt (target ≥ 0.50), against the measured aes rate / the aes target (%.0f/s):\n"+
		"  ml-dsa-65 sign %.2f / %.2f, ml-kem-768 encrypt %.2f / %.2f",
		aesTarget, transit[2].rate()/aes, transit[2].rate()/aesTarget, transit[3].rate()/aes, transit[3].rate()/aesTarget)
	return append([]result{write, read}, transit...), ratios, nil
}

// benchTransit measures transit through vault-secrets → Invoke → vault-crypto:
// aes256-gcm96 encrypt and decrypt, ml-dsa-65 sign, ml-kem-768 encrypt.
func benchTransit(ctx context.Context, c *bao.Client, duration time.Duration, clients int) ([]result, error) {
	if err := c.Sys().Mount("transit", &bao.MountInput{Type: "transit"}); err != nil {
		return nil, err
	}
	lg := c.Logical()
	for name, typ := range map[string]string{"aes": "aes256-gcm96", "mldsa": "ml-dsa-65", "mlkem": "ml-kem-768"} {
		if _, err := lg.WriteWithContext(ctx, "transit/keys/"+name, map[string]any{"type": typ}); err != nil {
			return nil, err
		}
	}
	plaintext := base64.StdEncoding.EncodeToString([]byte("a 32-byte secret for the bench!!"))
	ct, err := lg.WriteWithContext(ctx, "transit/encrypt/aes", map[string]any{"plaintext": plaintext})
	if err != nil {
		return nil, err
	}
	ciphertext := ct.Data["ciphertext"]
	call := func(path string, body map[string]any) func(int) error {
		return func(int) error {
			_, err := lg.WriteWithContext(ctx, path, body)
			return err
		}
	}
	enc := measure("transit aes256 encrypt", duration, clients, call("transit/encrypt/aes", map[string]any{"plaintext": plaintext}))
	enc.target, enc.peer = 5500, 5465
	dec := measure("transit aes256 decrypt", duration, clients, call("transit/decrypt/aes", map[string]any{"ciphertext": ciphertext}))
	dec.target, dec.peer = 6400, 6367
	sign := measure("transit ml-dsa-65 sign", duration, clients, call("transit/sign/mldsa", map[string]any{"input": plaintext}))
	sign.target = enc.target / 2
	kem := measure("transit ml-kem-768 encrypt", duration, clients, call("transit/encrypt/mlkem", map[string]any{"plaintext": plaintext}))
	kem.target = enc.target / 2
	return []result{enc, dec, sign, kem}, nil
}

func client(addr, token string, clients int) (*bao.Client, error) {
	cfg := bao.DefaultConfig()
	cfg.Address = addr
	cfg.MaxRetries = 0
	cfg.HttpClient = keepAliveClient(clients)
	c, err := bao.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	c.SetToken(token)
	return c, nil
}

// keepAliveClient keeps a connection per concurrent client, as a long-lived
// service would: the standard transports keep 2 (net/http) or GOMAXPROCS+1
// (the Vault client) idle connections per host, so with more clients than
// that most requests would pay a new TCP connection and leave a TIME_WAIT.
func keepAliveClient(clients int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = clients*2, clients*2
	return &http.Client{Transport: t, Timeout: time.Minute}
}

func (r result) rate() float64 { return float64(r.ops) / r.elapsed.Seconds() }

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
	sortDurations(all)
	r := result{name: name, ops: int64(len(all)), errors: errs.Load(), elapsed: time.Since(start)}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

func sortDurations(d []time.Duration) { slices.Sort(d) }
