// Package devstack runs all of StratumIOps on 127.0.0.1 with no docker and no
// cloud account: embedded NATS with JetStream, a supervised local SurrealDB,
// every catalog function in-process behind one HTTP gateway per system, the
// Lambda Invoke API, and the NATS → consumer dispatcher. Everything is derived
// from the catalog, as the CDK app is.
package devstack

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/stratumiops/stratumiops/localstack/emulator"
	localkms "github.com/stratumiops/stratumiops/localstack/kms"
	localnats "github.com/stratumiops/stratumiops/localstack/nats"
	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Config says how to run the stack.
type Config struct {
	// DataDir holds SurrealDB and JetStream data between runs (default .stratum).
	DataDir string
	// Memory keeps SurrealDB and JetStream in temporary directories removed on exit.
	Memory bool
	// SurrealEngine is the local SurrealDB's storage engine: "rocksdb"
	// (default), or "surrealkv" / "mem", which lose concurrent updates and
	// start only with AllowLostUpdates (and a warning).
	SurrealEngine    string
	AllowLostUpdates bool
	// SurrealURL and NATSURL use external servers instead of starting local ones.
	SurrealURL string
	NATSURL    string
	// Host to bind (default 127.0.0.1). Anything but a loopback address
	// exposes SurrealDB (user root), NATS (no auth) and every API to the
	// network: Start refuses it unless InsecureBind is set, and then warns.
	// The Lambda Invoke API, which runs any function unauthenticated, stays
	// on 127.0.0.1 whatever Host is.
	Host         string
	InsecureBind bool
	// EphemeralPorts binds every listener to a free port instead of the defaults.
	EphemeralPorts bool
	// FaultInjection honours the Stratum-Fault-Fail-Attempts header in consumers (e2e tests).
	FaultInjection bool
	// LambdaRuntime runs the real bootstrap binaries under the Lambda runtime
	// interface emulator instead of in-process handlers.
	LambdaRuntime bool
	// RetryBase is the first redelivery delay of consumers (default 1s).
	RetryBase time.Duration
	// ScheduleEvery runs scheduled functions at this period instead of their
	// catalog schedule (tests and demos that cannot wait a minute).
	// It leaves the vault's backups (catalog Backups) alone, which
	// BackupEvery sets (default: the catalog's hourly schedule).
	ScheduleEvery time.Duration
	BackupEvery   time.Duration
	Log           *slog.Logger
}

// Default ports when EphemeralPorts is off (system gateways come from the catalog).
const (
	DefaultInvokePort  = 8409
	DefaultNATSPort    = 4222
	DefaultSurrealPort = 8000
)

// Endpoints is where everything listens; `stratum dev --endpoints-file` writes it as JSON.
type Endpoints struct {
	Gateways       map[string]string `json:"gateways"`
	Invoke         string            `json:"invoke"`
	NATS           string            `json:"nats"`
	Surreal        string            `json:"surreal"`
	SurrealStorage string            `json:"surreal_storage"`
	NATSStore      string            `json:"nats_store,omitempty"`
	KMS            string            `json:"kms"`
	KMSKey         string            `json:"kms_key"`
	// VaultBackupDir is where vault-backup writes its snapshots (devstack only).
	VaultBackupDir string `json:"vault_backup_dir,omitempty"`
	// ProvisioningLocalDir is where Provisioning's local provider keeps its
	// networks, servers, services and storage (devstack only).
	ProvisioningLocalDir string `json:"provisioning_local_dir,omitempty"`
	// ProvisioningEC2 and ProvisioningUpCloud are the local clouds the aws
	// and upcloud providers use (devstack only, when no real endpoint is set).
	ProvisioningEC2     string `json:"provisioning_ec2,omitempty"`
	ProvisioningUpCloud string `json:"provisioning_upcloud,omitempty"`
	// APIKey and JWTSecret are the devstack's development credentials for
	// the functions that authenticate callers (empty elsewhere).
	APIKey        string `json:"api_key,omitempty"`
	JWTSecret     string `json:"jwt_secret,omitempty"`
	LambdaRuntime bool   `json:"lambda_runtime"`
	Functions     int    `json:"functions"`
	// Devstack is false for LocalStack/AWS targets: no gateway /metrics or /health there.
	Devstack bool `json:"devstack"`
	// FaultInjection says consumers honour the Stratum-Fault-Fail-Attempts header.
	FaultInjection bool  `json:"fault_injection"`
	StartupMillis  int64 `json:"startup_ms"`
}

// Stack is a running devstack.
type Stack struct {
	cfg        Config
	log        *slog.Logger
	nats       *localnats.Server
	surrealSrv *localsurreal.Server
	bus        *bus.Bus
	dbs        map[string]*surreal.Client // root's, one per database
	// dbPasswords are the functions' SurrealDB users' passwords, by function;
	// fnDBs the in-process functions' clients.
	dbPasswords map[string]string
	fnDBs       []*surreal.Client
	dispatcher  *bus.Dispatcher
	wsInvoker   invoke.Invoker // the WebSocket APIs' functions
	servers     []*http.Server
	listeners   map[string]net.Listener // gateways bound before their functions are built
	kms         *localkms.Server
	emulator    *emulator.Emulator
	tempDirs    []string
	endpoints   Endpoints

	stopSchedules context.CancelFunc
	schedules     sync.WaitGroup
}

// withDefaults fills what a Config leaves empty.
func (cfg Config) withDefaults() Config {
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = ".stratum"
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = time.Second
	}
	if cfg.Log == nil {
		cfg.Log = obs.NewLogger(os.Stderr, "")
	}
	return cfg
}

// dataDirs resolves the folders under the data directory that functions
// are told about: the vault's backups and the local provisioning provider's.
// With Memory they are temporary too: a backup or audit checkpoint of an
// earlier vault in .stratum is not this fresh vault's (its audit check
// would fail on it every minute).
func (s *Stack) dataDirs() (err error) {
	base := s.cfg.DataDir
	if s.cfg.Memory {
		if base, err = os.MkdirTemp("", "stratum-data-"); err != nil {
			return fmt.Errorf("data dir: %w", err)
		}
		s.tempDirs = append(s.tempDirs, base)
	}
	if s.endpoints.VaultBackupDir, err = filepath.Abs(filepath.Join(base, "vault-backups")); err != nil {
		return fmt.Errorf("vault backup dir: %w", err)
	}
	if s.endpoints.ProvisioningLocalDir, err = filepath.Abs(filepath.Join(base, "provisioning-local")); err != nil {
		return fmt.Errorf("provisioning local dir: %w", err)
	}
	return nil
}

// Start brings the whole stack up, or nothing: on error everything started is stopped.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	began := time.Now()
	cfg = cfg.withDefaults()
	if err := checkBind(cfg); err != nil {
		return nil, err
	}
	if err := checkAuth(); err != nil {
		return nil, err
	}
	s := &Stack{cfg: cfg, log: cfg.Log.With("component", "devstack"), dbs: map[string]*surreal.Client{},
		endpoints: Endpoints{Gateways: map[string]string{}, Devstack: true, FaultInjection: cfg.FaultInjection,
			APIKey: DevAPIKey, JWTSecret: authVars()["API_JWT_SECRET"]}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if err := s.dataDirs(); err != nil {
		return nil, err
	}
	if err := catalog.Validate(catalog.Systems, catalog.Streams, catalog.Functions); err != nil {
		return nil, err
	}
	if err := s.startNATS(); err != nil {
		return nil, err
	}
	if err := s.startSurreal(ctx); err != nil {
		return nil, err
	}
	if s.bus, err = bus.Connect(ctx, s.endpoints.NATS, "stratum-devstack", cfg.Log); err != nil {
		return nil, err
	}
	if err := s.bus.EnsureStreams(ctx, catalog.Streams); err != nil {
		return nil, err
	}
	if err := s.startKMS(ctx); err != nil {
		return nil, err
	}
	if err := s.startClouds(); err != nil {
		return nil, err
	}
	metrics := obs.NewMetrics()
	// The Invoke API listens first: emulated functions are told its URL.
	var inv switchInvoker
	invokeAddr, err := s.listenOn("127.0.0.1", "invoke", DefaultInvokePort, invoke.APIHandler(&inv, "us-east-1", "000000000000"))
	if err != nil {
		return nil, err
	}
	s.endpoints.Invoke = "http://" + invokeAddr
	if err := s.defineDatabaseUsers(ctx); err != nil {
		return nil, err
	}
	if err := s.bindGateways(); err != nil {
		return nil, err
	}
	var handlers map[string]http.Handler
	if cfg.LambdaRuntime {
		emu, err := s.startEmulator(ctx)
		if err != nil {
			return nil, err
		}
		inv.set(emu)
		handlers = viaInvoke(emu, cfg.Log)
	} else {
		local := invoke.NewLocal()
		if handlers, err = s.buildFunctions(ctx, metrics, local); err != nil {
			return nil, err
		}
		inv.set(local)
	}
	s.wsInvoker = &inv
	for _, sys := range catalog.Systems {
		if err := s.serveGateway(sys, handlers, metrics); err != nil {
			return nil, err
		}
	}
	// An unavailable dependency backs off 30 retry bases (30 s by default, 1.5 s in the e2e suite).
	s.dispatcher = &bus.Dispatcher{Bus: s.bus, Invoker: &inv, RetryBase: cfg.RetryBase, UnavailableBase: 30 * cfg.RetryBase,
		Observe: func(fn, outcome string) { metrics.ObserveMessage(fn, outcome) }}
	if err := s.dispatcher.Start(ctx, catalog.Functions); err != nil {
		return nil, err
	}
	if err := s.startSchedules(&inv); err != nil {
		return nil, err
	}
	s.endpoints.Functions = len(catalog.Functions)
	s.endpoints.StartupMillis = time.Since(began).Milliseconds()
	return s, nil
}

func (s *Stack) startNATS() error {
	if s.cfg.NATSURL != "" {
		s.endpoints.NATS = s.cfg.NATSURL
		return nil
	}
	opts := localnats.Options{Host: s.cfg.Host, Port: DefaultNATSPort}
	if s.cfg.EphemeralPorts {
		opts.Port = 0
	}
	if !s.cfg.Memory {
		opts.StoreDir = filepath.Join(s.cfg.DataDir, "nats")
	}
	srv, err := localnats.Start(opts)
	if err != nil {
		return fmt.Errorf("embedded nats: %w", err)
	}
	s.nats = srv
	s.endpoints.NATS = srv.URL()
	s.endpoints.NATSStore = srv.StoreDir()
	return nil
}

func (s *Stack) startSurreal(ctx context.Context) error {
	if s.cfg.SurrealURL != "" {
		s.endpoints.Surreal = s.cfg.SurrealURL
		s.endpoints.SurrealStorage = "external"
		return nil
	}
	storage, err := s.surrealStorage()
	if err != nil {
		return err
	}
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(DefaultSurrealPort))
	if s.cfg.EphemeralPorts {
		addr = ""
	}
	srv, err := localsurreal.Start(ctx, localsurreal.Options{Storage: storage, Addr: addr, Logger: s.cfg.Log,
		AllowLostUpdates: s.cfg.AllowLostUpdates})
	if err != nil {
		return err
	}
	s.surrealSrv = srv
	s.endpoints.Surreal = srv.URL()
	s.endpoints.SurrealStorage = srv.Storage()
	return nil
}

// surrealStorage is the engine URL of the local SurrealDB: RocksDB under the
// data directory by default, a temporary one with Memory ("" to
// localsurreal). Each engine has its own directory, so data written by one
// is never opened by another.
func (s *Stack) surrealStorage() (string, error) {
	engine := cmp.Or(s.cfg.SurrealEngine, "rocksdb")
	switch engine {
	case "rocksdb", "surrealkv", "mem":
	default:
		return "", fmt.Errorf("surreal engine %q: want rocksdb, surrealkv or mem", engine)
	}
	if engine == "mem" {
		return "mem://", nil
	}
	if s.cfg.Memory {
		if engine == "rocksdb" {
			return "", nil
		}
		return "", fmt.Errorf("--mem keeps SurrealDB in a temporary RocksDB directory; it does not combine with the %s engine", engine)
	}
	name := "surreal-" + engine
	if engine == "surrealkv" {
		name = "surreal" // where earlier versions kept their surrealkv data
	} else if entries, _ := os.ReadDir(filepath.Join(s.cfg.DataDir, "surreal")); len(entries) > 0 {
		s.cfg.Log.Warn("data from an earlier devstack on surrealkv is not used: SurrealDB now runs on rocksdb; start with --surreal-engine surrealkv --allow-lost-updates to read it",
			"dir", filepath.Join(s.cfg.DataDir, "surreal"))
	}
	dir, err := filepath.Abs(filepath.Join(s.cfg.DataDir, name))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("surreal data dir: %w", err)
	}
	return engine + "://" + dir, nil
}

// db returns the shared client of one database, migrating it on first use.
func (s *Stack) db(ctx context.Context, database string) (*surreal.Client, error) {
	if c, ok := s.dbs[database]; ok {
		return c, nil
	}
	cfg := surreal.ConfigFromEnv(database)
	cfg.URL = s.endpoints.Surreal
	c := surreal.New(cfg, s.cfg.Log)
	if err := function.Migrate(ctx, c, s.log); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("migrate %s: %w", database, err)
	}
	s.dbs[database] = c
	return c, nil
}

// buildFunctions builds every function in-process and registers it with local;
// it returns the HTTP functions' handlers.
func (s *Stack) buildFunctions(ctx context.Context, metrics *obs.Metrics, local *invoke.Local) (map[string]http.Handler, error) {
	builders, err := Builders()
	if err != nil {
		return nil, err
	}
	handlers := map[string]http.Handler{}
	for _, f := range catalog.Functions {
		d := &function.Deps{Log: s.cfg.Log.With("function", f.Name), Metrics: metrics, Invoker: local,
			FaultInjection: s.cfg.FaultInjection, Surreal: s.functionDB(f),
			Vars: map[string]string{"AWS_ENDPOINT_URL_KMS": s.endpoints.KMS, "VAULT_UNSEAL_KEY_ARN": s.endpoints.KMSKey}}
		if f.SecretsKey {
			d.Vars["SECRETS_KMS_KEY"] = s.endpoints.KMSKey // local-kms has one key; AWS has one per use
		}
		if f.Auth {
			for k, v := range authVars() {
				d.Vars[k] = v
			}
		}
		if f.Backups {
			d.Vars["VAULT_BACKUP_DIR"] = s.endpoints.VaultBackupDir
		}
		for k, v := range s.serviceVars(f) {
			d.Vars[k] = v
		}
		if f.Bus {
			d.Bus = s.bus
		}
		b, err := function.Build(ctx, f, builders[f.Name], d)
		if err != nil {
			return nil, err
		}
		local.Register(f.Name, b.Invoke)
		if b.HTTP != nil {
			handlers[f.Name] = lambdaSized(f.Name, b.HTTP, s.cfg.Log)
		}
	}
	return handlers, nil
}

// serveGateway routes a system's catalog routes to its functions, as its API
// Gateway HTTP API does, and answers health and metrics for the system.
func (s *Stack) serveGateway(sys catalog.System, handlers map[string]http.Handler, metrics *obs.Metrics) error {
	fns := catalog.OfSystem(sys.Name)
	if len(fns) == 0 {
		return nil
	}
	health := obs.NewHealth()
	health.Add("nats", s.bus.Ping)
	mux := http.NewServeMux()
	routes := 0
	for _, f := range fns {
		if f.Database != "" {
			health.Add("surrealdb", s.dbs[f.Database].Ping)
		}
		for _, r := range f.Routes {
			mux.Handle(httpapi.MuxPattern(r.Method, r.Path), handlers[f.Name])
			routes++
		}
	}
	sites, err := mountSites(sys.Name, mux)
	if err != nil {
		return err
	}
	routes += mountWebSockets(sys.Name, mux, s.wsInvoker, s.log)
	if routes+sites == 0 {
		return nil
	}
	mux.Handle("GET /health/live", health.LiveHandler())
	mux.Handle("GET /health/ready", health.ReadyHandler())
	mux.Handle("GET /metrics", metrics.Handler())
	addr, err := s.listen(sys.Name, sys.DevPort, httpapi.ErrorShape(mux, SystemErrors(sys.Name)))
	if err != nil {
		return err
	}
	s.endpoints.Gateways[sys.Name] = "http://" + addr
	return nil
}

// ExposedWarning is what the devstack says when bound beyond loopback.
const ExposedWarning = "the devstack listens beyond this machine: SurrealDB (user root, password root), NATS (no auth), " +
	"the vault and every API (with the published dev key) are reachable from the network"

// checkBind refuses a non-loopback Host without InsecureBind, and warns with it.
func checkBind(cfg Config) error {
	if invoke.LoopbackHost(cfg.Host) {
		return nil
	}
	if !cfg.InsecureBind {
		return fmt.Errorf("--host %s is not a loopback address: it would expose SurrealDB (root/root), NATS without auth "+
			"and every API with the published dev key to the network; pass --insecure-bind to do it anyway", cfg.Host)
	}
	cfg.Log.Warn(ExposedWarning, "host", cfg.Host)
	return nil
}

// bindGateways binds every system gateway's port before the functions are
// built, so that a function that calls another system's API (vapora-knowledge
// calls Kogral's) is given its address.
func (s *Stack) bindGateways() error {
	s.listeners = map[string]net.Listener{}
	for _, sys := range catalog.Systems {
		routed := false
		for _, f := range catalog.OfSystem(sys.Name) {
			routed = routed || len(f.Routes) > 0
		}
		if !routed {
			continue
		}
		l, err := s.bind(s.cfg.Host, sys.Name, sys.DevPort)
		if err != nil {
			return err
		}
		s.listeners[sys.Name] = l
		s.endpoints.Gateways[sys.Name] = "http://" + l.Addr().String()
	}
	return nil
}

// serviceVars are the settings a function's catalog entry asks for that
// only the devstack knows: other systems' API addresses and credentials
// (KOGRAL_URL, KOGRAL_API_KEY), and the local provisioning provider's folder
// and server command (this stratum binary, which a Lambda bootstrap under
// the runtime emulator is not).
func (s *Stack) serviceVars(f catalog.Function) map[string]string {
	known := map[string]string{"KOGRAL_URL": s.endpoints.Gateways["kogral"], "KOGRAL_API_KEY": DevKnowledgeKey,
		"PROV_LOCAL_DIR":     s.endpoints.ProvisioningLocalDir,
		"VAPORA_WS_ENDPOINT": s.endpoints.Gateways["vapora"]} // the @connections API beside /ws
	if exe, err := os.Executable(); err == nil {
		known["PROV_LOCAL_SERVER_CMD"] = exe + " prov local-server"
	}
	for k, v := range s.cloudVars() {
		known[k] = v
	}
	out := map[string]string{}
	for k := range f.Environment() { // Env and the called systems' (Calls) variables
		if v, ok := known[k]; ok && os.Getenv(k) == "" {
			out[k] = v
		}
	}
	return out
}

func (s *Stack) bind(host, name string, port int) (net.Listener, error) {
	if s.cfg.EphemeralPorts {
		port = 0
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("%s gateway on port %d: %w (another devstack running? try --ephemeral-ports)", name, port, err)
	}
	return l, nil
}

// listen serves h on the gateway's port, bound already or now.
func (s *Stack) listen(name string, port int, h http.Handler) (string, error) {
	l, ok := s.listeners[name]
	delete(s.listeners, name)
	if !ok {
		var err error
		if l, err = s.bind(s.cfg.Host, name, port); err != nil {
			return "", err
		}
	}
	return s.serve(name, l, h), nil
}

// listenOn serves h on host whatever the devstack's --host (the Invoke API stays on loopback).
func (s *Stack) listenOn(host, name string, port int, h http.Handler) (string, error) {
	l, err := s.bind(host, name, port)
	if err != nil {
		return "", err
	}
	return s.serve(name, l, h), nil
}

func (s *Stack) serve(name string, l net.Listener, h http.Handler) string {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("gateway stopped", "gateway", name, "err", err)
		}
	}()
	return l.Addr().String()
}

// Endpoints returns where everything listens.
func (s *Stack) Endpoints() Endpoints { return s.endpoints }

// Surreal returns the supervised SurrealDB server, or nil when external.
func (s *Stack) Surreal() *localsurreal.Server { return s.surrealSrv }

// WriteEndpoints writes the endpoints as JSON to path, atomically.
func (s *Stack) WriteEndpoints(path string) error {
	raw, err := json.MarshalIndent(s.endpoints, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, raw, 0o644); err != nil {
		return fmt.Errorf("write endpoints: %w", err)
	}
	return os.Rename(tmp, path)
}

// Close stops the gateways, then the dispatcher, then the servers it started.
func (s *Stack) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, srv := range s.servers {
		_ = srv.Shutdown(ctx)
	}
	for _, l := range s.listeners {
		_ = l.Close() // bound, never served: start-up failed before
	}
	if s.stopSchedules != nil {
		s.stopSchedules()
		s.schedules.Wait()
	}
	if s.dispatcher != nil {
		s.dispatcher.Stop()
	}
	if s.emulator != nil {
		s.emulator.Close()
	}
	if s.kms != nil {
		s.kms.Close()
	}
	if s.bus != nil {
		s.bus.Close()
	}
	for _, c := range s.dbs {
		_ = c.Close()
	}
	for _, c := range s.fnDBs {
		_ = c.Close()
	}
	if s.surrealSrv != nil {
		_ = s.surrealSrv.Close()
	}
	if s.nats != nil {
		s.nats.Close()
	}
	for _, d := range s.tempDirs {
		_ = os.RemoveAll(d)
	}
}

// switchInvoker lets the Invoke API listen before the functions behind it exist.
type switchInvoker struct {
	mu  sync.RWMutex
	inv invoke.Invoker
}

func (s *switchInvoker) set(inv invoke.Invoker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inv = inv
}

func (s *switchInvoker) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	s.mu.RLock()
	inv := s.inv
	s.mu.RUnlock()
	if inv == nil {
		return nil, fmt.Errorf("invoke %s: functions are still starting", function)
	}
	return inv.Invoke(ctx, function, payload)
}
