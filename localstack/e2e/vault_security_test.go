package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bao "github.com/openbao/openbao/api/v2"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Vault's token limits, judged through OpenBao's client: explicit_max_ttl is
// capped at the system maximum; a renewal never takes a child past its
// parent; expired tokens are swept with their descendants without being
// presented; metadata (a token's Cedar tags) is inherited, and setting tags
// the parent does not have takes sudo; revoke-orphan takes sudo.
func TestVaultTokenLimits(t *testing.T) {
	ctx := context.Background()
	root := unsealedRoot(t)
	addr := ep.Gateways["vault"]
	policy := func(name, text string) {
		t.Helper()
		if _, err := root.Logical().WriteWithContext(ctx, "sys/policies/cedar/"+name, map[string]any{"policy": text}); err != nil {
			t.Fatal(err)
		}
	}
	creator := strings.ToLower(unique("creator"))
	policy(creator, `permit (principal, action == Action::"update", resource) when {
  resource.path == "auth/token/create" || resource.path == "auth/token/revoke-orphan" || resource.path == "auth/token/renew" };`)
	sudo := strings.ToLower(unique("sudo"))
	policy(sudo, `permit (principal, action == Action::"sudo", resource) when {
  resource.path == "auth/token/create" || resource.path == "auth/token/revoke-orphan" };`)

	t.Run("explicit_max_ttl is capped at the system maximum", func(t *testing.T) {
		s, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"default"}, ExplicitMaxTTL: "1000h"})
		if err != nil {
			t.Fatal(err)
		}
		if len(s.Warnings) == 0 || !strings.Contains(s.Warnings[0], "capped to 2764800 seconds") || s.Auth.LeaseDuration > 768*3600 {
			t.Fatalf("create with explicit_max_ttl 1000h: %d s, warnings %v", s.Auth.LeaseDuration, s.Warnings)
		}
		look, err := root.Auth().Token().LookupAccessorWithContext(ctx, s.Auth.Accessor)
		if err != nil || look.Data["explicit_max_ttl"] != json.Number("2764800") {
			t.Fatalf("lookup: %v %v", look, err)
		}
	})

	t.Run("a renewal never takes a child past its parent", func(t *testing.T) {
		parent, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{creator}, TTL: "1h"})
		if err != nil {
			t.Fatal(err)
		}
		pc := baoClient(t, addr, parent.Auth.ClientToken)
		child, err := pc.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{TTL: "10m"})
		if err != nil {
			t.Fatal(err)
		}
		renewed, err := baoClient(t, addr, child.Auth.ClientToken).Auth().Token().RenewSelfWithContext(ctx, 5*3600)
		if err != nil {
			t.Fatal(err)
		}
		if renewed.Auth.LeaseDuration > 3600 || renewed.Auth.LeaseDuration < 3000 {
			t.Fatalf("a child of a 1h parent renewed by 5h: %d s", renewed.Auth.LeaseDuration)
		}
	})

	t.Run("expired tokens are swept with their descendants", func(t *testing.T) {
		parent, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{creator}, TTL: "3s"})
		if err != nil {
			t.Fatal(err)
		}
		child, err := baoClient(t, addr, parent.Auth.ClientToken).Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{})
		if err != nil {
			t.Fatal(err)
		}
		// Neither is presented again: only the sweep can take them.
		deadline := time.Now().Add(time.Minute)
		for _, acc := range []string{parent.Auth.Accessor, child.Auth.Accessor} {
			for {
				_, err := root.Auth().Token().LookupAccessorWithContext(ctx, acc)
				if hasStatus(err, 400) {
					break
				}
				if err != nil || time.Now().After(deadline) {
					t.Fatalf("token %s is still there a minute after it expired: %v", acc, err)
				}
				time.Sleep(sweepEvery / 2)
			}
		}
	})

	t.Run("metadata is inherited; tags the parent lacks take sudo", func(t *testing.T) {
		parent, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{creator},
			Metadata: map[string]string{"team": "search"}})
		if err != nil {
			t.Fatal(err)
		}
		pc := baoClient(t, addr, parent.Auth.ClientToken)
		for _, meta := range []map[string]string{{"team": "finance"}, {"role": "admin"}} {
			_, err := pc.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Metadata: meta})
			if !hasStatus(err, 403) || !strings.Contains(err.Error(), "takes sudo") {
				t.Fatalf("a child with metadata %v its parent does not have: %v", meta, err)
			}
		}
		child, err := pc.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Metadata: map[string]string{"team": "search"}})
		if err != nil {
			t.Fatal(err)
		}
		bare, err := pc.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*bao.Secret{child, bare} {
			if s.Auth.Metadata["team"] != "search" {
				t.Fatalf("a child's metadata: %v", s.Auth.Metadata)
			}
		}
		admin, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{creator, sudo}})
		if err != nil {
			t.Fatal(err)
		}
		minted, err := baoClient(t, addr, admin.Auth.ClientToken).Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{
			Policies: []string{creator}, Metadata: map[string]string{"team": "finance"}})
		if err != nil || minted.Auth.Metadata["team"] != "finance" {
			t.Fatalf("sudo sets metadata: %v %v", minted, err)
		}
	})

	t.Run("revoke-orphan takes sudo", func(t *testing.T) {
		target, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{"default"}})
		if err != nil {
			t.Fatal(err)
		}
		plain, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{creator}})
		if err != nil {
			t.Fatal(err)
		}
		if err := baoClient(t, addr, plain.Auth.ClientToken).Auth().Token().RevokeOrphanWithContext(ctx, target.Auth.ClientToken); !hasStatus(err, 403) {
			t.Fatalf("revoke-orphan without sudo: %v", err)
		}
		admin, err := root.Auth().Token().CreateWithContext(ctx, &bao.TokenCreateRequest{Policies: []string{creator, sudo}})
		if err != nil {
			t.Fatal(err)
		}
		if err := baoClient(t, addr, admin.Auth.ClientToken).Auth().Token().RevokeOrphanWithContext(ctx, target.Auth.ClientToken); err != nil {
			t.Fatalf("revoke-orphan with sudo: %v", err)
		}
	})
}

// The audit log fails closed and scales: a request whose entry cannot be
// written is refused and does not act; a flood of unauthenticated health
// checks is not logged and does not stop concurrent writers; a log emptied
// in the database is caught against the checkpoint kept outside it.
func TestVaultAuditFailsClosed(t *testing.T) {
	ctx := context.Background()
	root := unsealedRoot(t)
	db := surrealClient(t, "secretumvault")
	if ep.VaultBackupDir == "" {
		t.Skip("no devstack backup directory to read the audit checkpoints from")
	}
	checkpoints := filepath.Join(ep.VaultBackupDir, "audit-checkpoints")
	mount, device := strings.ToLower(unique("audited")), strings.ToLower(unique("chain"))
	if err := root.Sys().MountWithContext(ctx, mount, &bao.MountInput{Type: "kv-v2"}); err != nil {
		t.Fatal(err)
	}
	// Start from an empty log: earlier tests may have tampered with theirs.
	resetAuditLog(t, db, checkpoints)
	if err := root.Sys().EnableAuditWithOptionsWithContext(ctx, device, &bao.EnableAuditOptions{Type: "surrealdb"}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = root.Sys().DisableAuditWithContext(ctx, device)
		resetAuditLog(t, db, checkpoints)
	}()
	kv := root.KVv2(mount)
	if _, err := kv.Put(ctx, "s", map[string]any{"v": "1"}); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		n, err := surreal.Query[int](ctx, db, "RETURN count((SELECT VALUE id FROM audit_log))", nil)
		if err != nil {
			t.Fatalf("count entries: %v", err)
		}
		return n
	}

	t.Run("health floods are not logged and writers do not compete", func(t *testing.T) {
		before := count()
		var wg sync.WaitGroup
		errs := make(chan error, 400)
		for range 200 {
			wg.Go(func() {
				res, err := http.Get(ep.Gateways["vault"] + "/v1/sys/health")
				if err == nil {
					res.Body.Close()
				}
			})
		}
		const writers, each = 16, 5
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					_, err := kv.Put(ctx, fmt.Sprintf("w%d", w), map[string]any{"i": i})
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a write under a health flood: %v", err)
			}
		}
		// Each write is a request and a response entry; no health check is.
		if got := count() - before; got != 2*writers*each {
			t.Fatalf("%d entries for %d writes and 200 health checks", got, writers*each)
		}
		rep, err := root.Logical().ReadWithContext(ctx, "sys/audit-verify")
		if err != nil || rep.Data["valid"] != true {
			t.Fatalf("verify: %v %v", rep, err)
		}
	})

	t.Run("lanes removed from the database are caught by the checkpoint", func(t *testing.T) {
		// Wait for a checkpoint taken after the writes above.
		written := time.Now()
		deadline := written.Add(time.Minute)
		for {
			rep, err := root.Logical().ReadWithContext(ctx, "sys/audit-verify")
			if err != nil {
				t.Fatal(err)
			}
			at, _ := time.Parse(time.RFC3339Nano, fmt.Sprint(rep.Data["checkpoint"]))
			if at.After(written) && rep.Data["valid"] == true {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no checkpoint a minute on: %v", rep.Data)
			}
			time.Sleep(sweepEvery)
		}
		// Every lane that logged a write to the mount goes, whole: what is
		// left is a log whose every lane still verifies.
		if _, err := surreal.Query[any](ctx, db, "DELETE audit_log WHERE lane IN (SELECT VALUE lane FROM audit_log WHERE string::contains(entry, $m))",
			map[string]any{"m": `"path":"` + mount + `/data/`}); err != nil {
			t.Fatal(err)
		}
		rep, err := root.Logical().ReadWithContext(ctx, "sys/audit-verify")
		if err != nil || rep.Data["valid"] != false || !strings.Contains(fmt.Sprint(rep.Data["problem"]), "and later were removed") {
			t.Fatalf("verify after whole lanes were removed: %v %v", rep, err)
		}
	})
	t.Run("a request that cannot be logged is refused and does not act", func(t *testing.T) {
		id := unique("refused-write")
		refuseAuditEntries(t, db, `string::contains($value, '"id":"`+id+`"')`)
		_, err := withRequestID(t, root, id).KVv2(mount).Put(ctx, "s", map[string]any{"v": "2"})
		var re *bao.ResponseError
		if !errors.As(err, &re) || re.StatusCode < 500 {
			t.Fatalf("a write that could not be audited: %v", err)
		}
		s, err := kv.Get(ctx, "s")
		if err != nil || s.Data["v"] != "1" || s.VersionMetadata.Version != 1 {
			t.Fatalf("the refused write took effect: %+v %v", s, err)
		}
	})
}

// resetAuditLog empties the audit log and its checkpoints, as an operator
// starting over would (the checkpointer refuses a log that lost entries, so
// the checkpoints go after the entries, once a run in flight is done).
func resetAuditLog(t *testing.T, db *surreal.Client, checkpoints string) {
	t.Helper()
	if _, err := surreal.Query[any](context.Background(), db, "DELETE audit_log", nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * sweepEvery)
	if err := os.RemoveAll(checkpoints); err != nil {
		t.Fatal(err)
	}
}
