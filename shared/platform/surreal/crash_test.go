// The SDK's gws transport races with itself when the server dies (OnClose
// closes its channel before it stores the error that Call then reads), so
// these crash tests run without the race detector; the e2e suite's crash test
// covers the same path in a separate process.

//go:build !race

package surreal_test

import (
	"context"
	"testing"
	"time"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// When the server dies, the next call on the dead connection does not wait
// out the full timeout (it fails fast with ErrUnavailable, or redials if the
// server is back), and calls succeed again once it is back.
func TestServerCrashIsNoticedQuickly(t *testing.T) {
	ctx := context.Background()
	const timeout = 30 * time.Second
	srv, err := localsurreal.Start(ctx, localsurreal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := surreal.New(surreal.Config{URL: srv.URL(), User: "root", Pass: "root", Namespace: surreal.Namespace,
		Database: "t_crash", Timeout: timeout}, nil)
	defer c.Close()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	restarts := srv.Restarts()
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	// The call below must find a connection that died while idle, as a
	// Lambda's does between invocations. It once came 50 ms after the kill,
	// and on a busy machine the transport had not read the socket's end by
	// then: the query was sent on the dead socket and, since the SDK's Call
	// does not watch the connection's close once a request is written, it
	// waited out the whole timeout (a query in flight at a crash does: see
	// deadlineMargin). The supervisor's restart takes far longer than that read.
	for srv.Restarts() == restarts {
		time.Sleep(20 * time.Millisecond)
	}
	start := time.Now()
	err = c.Ping(ctx)
	// Noticed from the closed connection, not by waiting out the query
	// timeout (a third of it leaves room for a busy machine).
	if took := time.Since(start); took > timeout/3 {
		t.Fatalf("a dead server took %s to notice, against a %s query timeout (err %v)", took, timeout, err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for c.Ping(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("never reconnected after the restart")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A connection that died while idle is replaced transparently: the first call
// after SurrealDB came back succeeds.
func TestStaleConnectionIsReplaced(t *testing.T) {
	ctx := context.Background()
	srv, err := localsurreal.Start(ctx, localsurreal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c := surreal.New(surreal.Config{URL: srv.URL(), User: "root", Pass: "root", Namespace: surreal.Namespace, Database: "t_stale"}, nil)
	defer c.Close()
	if err := c.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	restarts := srv.Restarts()
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	for srv.Restarts() == restarts {
		time.Sleep(20 * time.Millisecond)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("first call after the restart: %v", err)
	}
}
