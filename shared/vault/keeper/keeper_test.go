package keeper_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	localkms "github.com/stratumiops/stratumiops/localstack/kms"
	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/cryptofn"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/shamir"
)

var (
	surrealURL string
	kmsURL     string
)

func TestMain(m *testing.M) {
	url, stop, err := localsurreal.ForTests()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	kms, err := localkms.Start(context.Background(), localkms.Options{})
	if err != nil {
		stop()
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	surrealURL, kmsURL = url, kms.URL()
	code := m.Run()
	kms.Close()
	stop()
	os.Exit(code)
}

// vault gives a fresh database and a keeper factory over it: each keeper is a
// separate vault-crypto instance sharing the same storage and KMS.
func vault(t *testing.T) (func() *keeper.Keeper, *surreal.Client) {
	t.Helper()
	db := surreal.New(surreal.Config{URL: surrealURL, User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: fmt.Sprintf("vault_%d", time.Now().UnixNano())}, nil)
	t.Cleanup(func() { _ = db.Close() })
	wrapper, err := cryptofn.NewKMS(context.Background(), localkms.UnsealKeyAlias, kmsURL)
	if err != nil {
		t.Fatal(err)
	}
	return func() *keeper.Keeper { return keeper.New(db, wrapper) }, db
}

func TestInitUnsealSealAcrossInstances(t *testing.T) {
	ctx := context.Background()
	newKeeper, db := vault(t)
	a, b := newKeeper(), newKeeper()
	if st, _ := a.Status(ctx); st.Initialized {
		t.Fatal("initialized before init")
	}
	res, err := a.Init(ctx, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Keys) != 5 || len(res.KeysBase64) != 5 || !strings.HasPrefix(res.RootToken, "s.") || len(res.Keys[0]) != 66 {
		t.Fatalf("init result %+v", res)
	}
	if _, err := b.Init(ctx, 5, 3); err == nil || !strings.Contains(err.Error(), "already initialized") {
		t.Fatalf("second init: %v", err)
	}
	if _, err := a.SealRecords(ctx, []keeper.Record{{Path: "x", Data: []byte("y")}}); !errors.As(err, new(keeper.SealedError)) {
		t.Fatalf("sealed after init: %v", err)
	}
	// Two shares (one of them twice, in base64) leave it sealed; the third unseals.
	st, _ := a.Unseal(ctx, res.Keys[0], false)
	st, _ = b.Unseal(ctx, res.KeysBase64[0], false)
	if !st.Sealed || st.Progress != 1 || st.Nonce == "" {
		t.Fatalf("duplicate share counted: %+v", st)
	}
	if st, _ = a.Unseal(ctx, res.Keys[1], false); !st.Sealed || st.Progress != 2 || st.T != 3 || st.N != 5 {
		t.Fatalf("after 2 shares: %+v", st)
	}
	if st, err = b.Unseal(ctx, res.Keys[4], false); err != nil || st.Sealed || st.Progress != 0 {
		t.Fatalf("after 3 shares: %+v %v", st, err)
	}
	// Instance a never saw the threshold; it unwraps the root key through KMS.
	sealed, err := a.SealRecords(ctx, []keeper.Record{{Path: "secret/data/app", Data: []byte("s3cr3t")}})
	if err != nil {
		t.Fatal(err)
	}
	opened, err := b.OpenRecords(ctx, sealed)
	if err != nil || string(opened[0].Data) != "s3cr3t" {
		t.Fatalf("open: %q %v", opened, err)
	}
	moved := []keeper.Record{{Path: "secret/data/other", Data: sealed[0].Data}}
	if _, err := a.OpenRecords(ctx, moved); err == nil {
		t.Fatal("a blob moved to another path decrypted")
	}
	ha, _ := a.TokenHash(ctx, res.RootToken)
	hb, _ := newKeeper().TokenHash(ctx, res.RootToken)
	if ha == "" || ha != hb || ha != res.RootTokenHash {
		t.Fatalf("token hashes differ: %s %s %s", ha, hb, res.RootTokenHash)
	}
	// No key material in storage: not the root key, not the shares.
	var parts [][]byte
	for _, k := range res.Keys[:3] {
		p, _ := hex.DecodeString(k)
		parts = append(parts, p)
	}
	root, _ := shamir.Combine(parts)
	dump, err := surreal.QueryAll[any](ctx, db, "SELECT * FROM seal; SELECT * FROM unseal_share;", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, needle := range append(parts, root, []byte(hex.EncodeToString(root)), []byte(res.RootToken)) {
		if bytes.Contains([]byte(fmt.Sprintf("%v", dump)), needle) {
			t.Fatal("key material found in storage")
		}
	}
	// Sealing through one instance stops the other at once.
	if err := b.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.OpenRecords(ctx, sealed); !errors.As(err, new(keeper.SealedError)) {
		t.Fatalf("warm instance after seal: %v", err)
	}
	if _, err := newKeeper().TokenHash(ctx, "x"); !errors.As(err, new(keeper.SealedError)) {
		t.Fatalf("new instance after seal: %v", err)
	}
}

func TestWrongSharesNeverUnseal(t *testing.T) {
	ctx := context.Background()
	newKeeper, _ := vault(t)
	k := newKeeper()
	res, err := k.Init(ctx, 3, 2)
	if err != nil {
		t.Fatal(err)
	}
	otherKeeper, _ := vault(t)
	other, _ := otherKeeper().Init(ctx, 3, 2)
	if _, err := k.Unseal(ctx, res.Keys[0], false); err != nil {
		t.Fatal(err)
	}
	_, err = k.Unseal(ctx, other.Keys[1], false)
	var inv *keeper.InvalidError
	if !errors.As(err, &inv) {
		t.Fatalf("foreign share: %v", err)
	}
	if st, _ := k.Status(ctx); !st.Sealed || st.Progress != 0 {
		t.Fatalf("after a failed unseal: %+v", st)
	}
	for _, bad := range []string{"", "zz-not-a-key", hex.EncodeToString([]byte("short"))} {
		if _, err := k.Unseal(ctx, bad, false); !errors.As(err, &inv) {
			t.Errorf("key %q: %v", bad, err)
		}
	}
	// reset drops progress.
	_, _ = k.Unseal(ctx, res.Keys[0], false)
	if st, _ := k.Unseal(ctx, "", true); st.Progress != 0 {
		t.Fatalf("reset: %+v", st)
	}
	if st, err := k.Unseal(ctx, res.Keys[2], false); err != nil || !st.Sealed {
		t.Fatalf("one share after reset: %+v %v", st, err)
	}
	if st, err := k.Unseal(ctx, res.Keys[1], false); err != nil || st.Sealed {
		t.Fatalf("threshold: %+v %v", st, err)
	}
}

func TestInitValidation(t *testing.T) {
	newKeeper, _ := vault(t)
	k := newKeeper()
	for _, c := range [][2]int{{0, 0}, {3, 4}, {256, 3}, {3, 1}} {
		if _, err := k.Init(context.Background(), c[0], c[1]); !errors.As(err, new(*keeper.InvalidError)) {
			t.Errorf("init %v: %v", c, err)
		}
	}
	res, err := k.Init(context.Background(), 1, 1)
	if err != nil || len(res.Keys) != 1 {
		t.Fatalf("1-of-1: %v", err)
	}
	if st, err := k.Unseal(context.Background(), res.Keys[0], false); err != nil || st.Sealed {
		t.Fatalf("1-of-1 unseal: %+v %v", st, err)
	}
}

func FuzzParseKey(f *testing.F) {
	f.Add("00ff")
	f.Add("AAEC")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = keeper.ParseKey(s)
	})
}

// A caller's observed generation spares the keeper a read only while it
// matches what the keeper verified itself within verifyEvery: after a seal, a
// stale claim is refused within a second, and a call with no claim at once.
func TestClaimedGenerationIsBounded(t *testing.T) {
	ctx := context.Background()
	newKeeper, db := vault(t)
	a, b := newKeeper(), newKeeper()
	res, err := a.Init(ctx, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Unseal(ctx, res.Keys[0], false); err != nil {
		t.Fatal(err)
	}
	st, _ := a.Status(ctx)
	if st.Sealed {
		t.Fatal("not unsealed")
	}
	if _, err := a.TokenHash(ctx, "x"); err != nil { // verifies and learns the generation
		t.Fatal(err)
	}
	if err := b.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.TokenHash(ctx, "x"); !errors.As(err, new(keeper.SealedError)) {
		t.Fatalf("no claim after a seal: %v", err)
	}
	if _, err := b.Unseal(ctx, res.Keys[0], false); err != nil {
		t.Fatal(err)
	}
	if _, err := a.TokenHash(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	gen, err := surreal.Query[int](ctx, db, "RETURN seal:config.generation", nil)
	if err != nil {
		t.Fatal(err)
	}
	claimed := keeper.WithGeneration(ctx, gen)
	if _, err := a.TokenHash(claimed, "x"); err != nil {
		t.Fatal(err)
	}
	if err := b.Seal(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if _, err := a.TokenHash(claimed, "x"); !errors.As(err, new(keeper.SealedError)) {
		t.Fatalf("a stale claim more than verifyEvery after the seal: %v", err)
	}
}
