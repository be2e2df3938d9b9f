// Command bench is `make bench`: it starts a devstack with persistent storage
// (SurrealDB on RocksDB, as a production server runs) and measures the systems through
// their real clients, printing throughput, p50/p99 and the ratio to the
// reference figures measured on these machines.
//
// Last, each function's cold start under the Lambda runtime emulator (init
// and handler apart, against the 50 ms init target) in a devstack of its own.
//
//	go run ./localstack/bench [-duration 10s] [-clients 10] [-only vault,openbao,vapora,board,ui,pipelines,provisioning,kogral,typedialog,coldstart] [-surreal-engine rocksdb]
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
	"syscall"
	"time"

	bao "github.com/openbao/openbao/api/v2"

	"github.com/stratumiops/stratumiops/localstack/devstack"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each scenario runs")
	clients := flag.Int("clients", 10, "concurrent clients")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of this process (clients and in-process functions) here")
	flag.StringVar(&only, "only", "", "run only these systems' scenarios: a comma-separated list of vault, openbao, vapora, board (Vapora's board alone), ui (Vapora's page in Chromium), pipelines, llm, provisioning, kogral, typedialog, coldstart")
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
	if slices.ContainsFunc([]string{"vault", "openbao", "vapora", "board", "ui", "pipelines", "llm", "provisioning", "kogral", "typedialog"}, want) {
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
	cpu       time.Duration // this process's CPU time over the run (processCPU)
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
	}
	if want("vapora") || want("board") {
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
	ratios := pqcRatios(transit)
	return append([]result{write, read}, transit...), ratios, nil
}

// transitCase is one transit scenario: an operation on a key of a type.
type transitCase struct {
	name, key, typ, op string
	target             float64
}

// transitCases are the transit scenarios, through vault-secrets → Invoke →
// vault-crypto. The post-quantum KEMs are measured both ways for issue 28's
// "within 10 % of the figures before HPKE" (see pqcRatios).
var transitCases = []transitCase{
	{"transit aes256 encrypt", "aes", "aes256-gcm96", "encrypt", 5500},
	{"transit aes256 decrypt", "aes", "aes256-gcm96", "decrypt", 6400},
	{"transit ml-dsa-65 sign", "mldsa", "ml-dsa-65", "sign", 2750},
	{"transit ml-kem-768 encrypt", "mlkem", "ml-kem-768", "encrypt", 2750},
	{"transit ml-kem-768 decrypt", "mlkem", "ml-kem-768", "decrypt", 2750},
	{"transit x-wing encrypt", "xwing", "x-wing", "encrypt", 2750},
	{"transit x-wing decrypt", "xwing", "x-wing", "decrypt", 2750},
}

// benchTransit measures every transit case, in transitCases' order.
func benchTransit(ctx context.Context, c *bao.Client, duration time.Duration, clients int) ([]result, error) {
	if err := c.Sys().Mount("transit", &bao.MountInput{Type: "transit"}); err != nil {
		return nil, err
	}
	lg := c.Logical()
	plaintext := base64.StdEncoding.EncodeToString([]byte("a 32-byte secret for the bench!!"))
	ciphertexts := map[string]any{}
	for _, tc := range transitCases {
		if _, made := ciphertexts[tc.key]; made {
			continue
		}
		if _, err := lg.WriteWithContext(ctx, "transit/keys/"+tc.key, map[string]any{"type": tc.typ}); err != nil {
			return nil, err
		}
		if tc.op == "sign" {
			ciphertexts[tc.key] = nil
			continue
		}
		ct, err := lg.WriteWithContext(ctx, "transit/encrypt/"+tc.key, map[string]any{"plaintext": plaintext})
		if err != nil {
			return nil, err
		}
		ciphertexts[tc.key] = ct.Data["ciphertext"]
	}
	var out []result
	for _, tc := range transitCases {
		body := map[string]any{"plaintext": plaintext}
		switch tc.op {
		case "decrypt":
			body = map[string]any{"ciphertext": ciphertexts[tc.key]}
		case "sign":
			body = map[string]any{"input": plaintext}
		}
		path := "transit/" + tc.op + "/" + tc.key
		r := measure(tc.name, duration, clients, func(int) error {
			_, err := lg.WriteWithContext(ctx, path, body)
			return err
		})
		r.target, r.peer = tc.target, transitPeers[tc.name]
		out = append(out, r)
	}
	return out, nil
}

// pqcRatios compares the post-quantum cases with aes256-gcm96 in the same
// run (sign and encrypt against aes encrypt, decrypt against aes decrypt),
// by rate and by CPU time per operation (processCPU: the bench's clients
// and the in-process functions), which a busy machine moves far less than
// the rate. Targets: a rate ≥ 0.50 of aes for sign and ml-kem-768 encrypt
// (issue 7), and for the KEMs a CPU cost within 10 % of what the same bench
// measured before they moved to HPKE (issue 28; beforeHPKE).
func pqcRatios(transit []result) string {
	byName := map[string]result{}
	for _, r := range transit {
		byName[r.name] = r
	}
	var b strings.Builder
	b.WriteString("post-quantum vs aes256-gcm96 in this run (sign, encrypt: vs aes encrypt; decrypt: vs aes decrypt):\n")
	for _, tc := range transitCases[2:] {
		base := byName["transit aes256 encrypt"]
		if tc.op == "decrypt" {
			base = byName["transit aes256 decrypt"]
		}
		r := byName[tc.name]
		cpuRatio := float64(r.cpuPerOp()) / float64(base.cpuPerOp())
		fmt.Fprintf(&b, "  %-27s rate %.2f   CPU %s/op = %.2f× aes's", tc.name, r.rate()/base.rate(),
			r.cpuPerOp().Round(time.Microsecond), cpuRatio)
		if tc.name == "transit ml-dsa-65 sign" || tc.name == "transit ml-kem-768 encrypt" {
			b.WriteString("   (rate target ≥ 0.50)")
		}
		if before, ok := beforeHPKE[tc.name]; ok {
			fmt.Fprintf(&b, "   before HPKE %.2f× (CPU target ≤ %.2f×)", before, 1.1*before)
		}
		b.WriteString("\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// beforeHPKE are the KEMs' CPU costs per operation relative to aes's (the
// CPU ratio pqcRatios prints) on the commit before ml-kem-768 and x-wing
// moved to HPKE (2213bcb^), measured on this machine interleaved with the
// HPKE code, four runs each at load 3–10 on 2026-11-30 (issue 28's note).
var beforeHPKE = map[string]float64{
	"transit ml-kem-768 encrypt": 1.76, "transit ml-kem-768 decrypt": 1.54,
	"transit x-wing encrypt": 2.19, "transit x-wing decrypt": 1.88,
}

// transitPeers are OpenBao 2.6.2's figures from the issue, for the types it has.
var transitPeers = map[string]float64{"transit aes256 encrypt": 5465, "transit aes256 decrypt": 6367}

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
	cpu0 := processCPU()
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
	r := result{name: name, ops: int64(len(all)), errors: errs.Load(), elapsed: time.Since(start), cpu: processCPU() - cpu0}
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

func sortDurations(d []time.Duration) { slices.Sort(d) }

// processCPU is the CPU time this process has used, user and system: the
// bench's clients and every function it runs in-process (not SurrealDB's or
// NATS's own processes). Per operation it is a figure a busy machine barely
// moves, unlike a rate.
func processCPU() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// cpuPerOp is the process CPU time an operation cost on average.
func (r result) cpuPerOp() time.Duration {
	if r.ops == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.ops)
}
