package bus_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nkeys"

	"github.com/stratumiops/stratumiops/shared/platform/bus"
)

// operatorServer runs NATS in operator (JWT) mode as Synadia Cloud does, with
// one JetStream-enabled account, and returns its URL and a user's .creds.
func operatorServer(t *testing.T) (url string, creds []byte) {
	t.Helper()
	okp, _ := nkeys.CreateOperator()
	opub, _ := okp.PublicKey()
	ojwt, err := jwt.NewOperatorClaims(opub).Encode(okp)
	must(t, err)
	op, err := jwt.DecodeOperatorClaims(ojwt)
	must(t, err)
	akp, _ := nkeys.CreateAccount()
	apub, _ := akp.PublicKey()
	ac := jwt.NewAccountClaims(apub)
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	ajwt, err := ac.Encode(okp)
	must(t, err)
	ukp, _ := nkeys.CreateUser()
	upub, _ := ukp.PublicKey()
	ujwt, err := jwt.NewUserClaims(upub).Encode(akp)
	must(t, err)
	seed, _ := ukp.Seed()
	creds, err = jwt.FormatUserConfig(ujwt, seed)
	must(t, err)

	resolver := &server.MemAccResolver{}
	sysKP, _ := nkeys.CreateAccount()
	sysPub, _ := sysKP.PublicKey()
	sysJWT, err := jwt.NewAccountClaims(sysPub).Encode(okp)
	must(t, err)
	must(t, resolver.Store(sysPub, sysJWT))
	must(t, resolver.Store(apub, ajwt))
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(), SystemAccount: sysPub, TrustedOperators: []*jwt.OperatorClaims{op}, AccountResolver: resolver})
	must(t, err)
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	t.Cleanup(srv.Shutdown)
	return srv.ClientURL(), creds
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// A managed NATS (Synadia Cloud) takes a user JWT and NKey seed: NATS_CREDS
// holds the .creds file's content, as the functions read it from Secrets Manager.
func TestConnectWithCreds(t *testing.T) {
	url, creds := operatorServer(t)
	ctx := context.Background()

	t.Setenv("NATS_CREDS", string(creds))
	b, err := bus.Connect(ctx, url, "creds-test", nil)
	must(t, err)
	defer b.Close()
	waitFor(t, "JetStream through the creds", func() bool { return b.Ping(ctx) == nil })

	// Without creds the server refuses the connection: the bus stays unavailable.
	t.Setenv("NATS_CREDS", "")
	anon, err := bus.Connect(ctx, url, "anonymous", nil)
	must(t, err)
	defer anon.Close()
	time.Sleep(300 * time.Millisecond)
	if err := anon.Ping(ctx); err == nil || !strings.Contains(err.Error(), "nats unavailable") {
		t.Fatalf("connected without creds: %v", err)
	}

	// Creds without a seed are refused before dialling, naming the problem.
	t.Setenv("NATS_CREDS", strings.Split(string(creds), "************************* IMPORTANT")[0])
	if _, err := bus.Connect(ctx, url, "half-creds", nil); err == nil || !strings.Contains(err.Error(), "NATS_CREDS: no NKey seed") {
		t.Fatalf("half creds: %v", err)
	}
}

// The self-hosted server takes a token (NATS_TOKEN, from the generated secret).
func TestConnectWithToken(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true,
		JetStream: true, StoreDir: t.TempDir(), Authorization: "s3cret-token"})
	must(t, err)
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server did not start")
	}
	defer srv.Shutdown()
	ctx := context.Background()
	t.Setenv("NATS_TOKEN", "s3cret-token")
	b, err := bus.Connect(ctx, srv.ClientURL(), "token-test", nil)
	must(t, err)
	defer b.Close()
	waitFor(t, "JetStream with the token", func() bool { return b.Ping(ctx) == nil })

	t.Setenv("NATS_TOKEN", "wrong")
	bad, err := bus.Connect(ctx, srv.ClientURL(), "bad-token", nil)
	must(t, err)
	defer bad.Close()
	time.Sleep(300 * time.Millisecond)
	if err := bad.Ping(ctx); err == nil {
		t.Fatal("connected with a wrong token")
	}
}
