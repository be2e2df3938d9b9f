package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	localnats "github.com/stratumiops/stratumiops/localstack/nats"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

func runDeadletter(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := rootCommand()
	cmd.SetArgs(append([]string{"deadletter"}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// A dead-lettered event is listed by `stratum deadletter list` and, once
// its consumer is fixed, `redrive` hands it back to that consumer alone
// (with the event's own message id) and takes it off the list.
func TestDeadletterListAndRedrive(t *testing.T) {
	srv, err := localnats.Start(localnats.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	b, err := bus.Connect(ctx, srv.URL(), t.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.EnsureStreams(ctx, catalog.Streams); err != nil {
		t.Fatal(err)
	}
	const subject = "portfolio.test.deadletter_cli"
	var mu sync.Mutex
	fixed := false
	seen := map[string][]string{} // consumer → msg ids handled successfully
	consume := func(name string, fails bool) {
		sub, err := b.Consume(ctx, bus.ConsumerSpec{Name: name, Subjects: []string{subject}, MaxDeliver: 2,
			AckWait: 5 * time.Second, RetryBase: 10 * time.Millisecond}, bus.Each(func(ctx context.Context, d bus.Delivery) error {
			mu.Lock()
			defer mu.Unlock()
			if fails && !fixed {
				return errors.New("bug in " + name)
			}
			seen[name] = append(seen[name], d.MsgID)
			return nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(sub.Stop)
	}
	consume("t-dl-buggy", true)
	consume("t-dl-other", false)
	if _, err := b.Publish(ctx, subject, "evt-cli-1", map[string]string{"k": "v"}, map[string]string{"Traceparent": "00-abc-def-01"}); err != nil {
		t.Fatal(err)
	}
	var listed []bus.DeadLetter
	deadline := time.Now().Add(10 * time.Second)
	for len(listed) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no dead letter listed")
		}
		time.Sleep(20 * time.Millisecond)
		out, err := runDeadletter(t, "list", "--nats-url", srv.URL(), "--consumer", "t-dl-buggy", "--json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(out), &listed); err != nil {
			t.Fatalf("list --json: %v\n%s", err, out)
		}
	}
	dl := listed[0]
	if dl.Consumer != "t-dl-buggy" || dl.Subject != subject || dl.MsgID != "evt-cli-1" || dl.Attempts != 2 ||
		dl.Error != "bug in t-dl-buggy" || !strings.Contains(dl.Data, `"k":"v"`) {
		t.Fatalf("listed %+v", dl)
	}
	if out, err := runDeadletter(t, "list", "--nats-url", srv.URL()); err != nil || !strings.Contains(out, "bug in t-dl-buggy") {
		t.Fatalf("table: %v\n%s", err, out)
	}
	if _, err := runDeadletter(t, "redrive", "--nats-url", srv.URL()); err == nil {
		t.Fatal("redrive without a sequence or --all succeeded")
	}
	if _, err := runDeadletter(t, "redrive", "--nats-url", srv.URL(), "99999"); err == nil {
		t.Fatal("redrive of a missing dead letter succeeded")
	}

	mu.Lock()
	fixed = true
	mu.Unlock()
	out, err := runDeadletter(t, "redrive", "--nats-url", srv.URL(), strconv.FormatUint(dl.Sequence, 10))
	if err != nil || !strings.Contains(out, "→ t-dl-buggy") {
		t.Fatalf("redrive: %v\n%s", err, out)
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(seen["t-dl-buggy"])
		mu.Unlock()
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the redriven event never reached its consumer")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // nothing more arrives
	mu.Lock()
	if got := seen["t-dl-buggy"]; len(got) != 1 || got[0] != "evt-cli-1" {
		t.Errorf("buggy consumer handled %v, want [evt-cli-1] once", got)
	}
	if got := seen["t-dl-other"]; len(got) != 1 {
		t.Errorf("the other consumer handled %v, want the original only", got)
	}
	mu.Unlock()
	if out, err := runDeadletter(t, "list", "--nats-url", srv.URL(), "--json"); err != nil || strings.TrimSpace(out) != "[]" {
		t.Fatalf("after redrive, list: %v %s", err, out)
	}
}
