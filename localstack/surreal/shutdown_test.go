package surreal

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	platform "github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// lockedBuffer collects log lines from several goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Closing the clients and then the server, as the devstack does on Ctrl-C,
// logs no panic, warning or error, from the engine or from the clients.
func TestShutdownIsQuiet(t *testing.T) {
	var logs lockedBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	ctx := context.Background()
	srv, err := Start(ctx, Options{Logger: log})
	if err != nil {
		t.Skipf("no surrealdb engine here: %v", err)
	}
	var clients []*platform.Client
	for i := range 4 {
		c := platform.New(platform.Config{URL: srv.URL(), User: "root", Pass: "root", Namespace: "test", Database: "shutdown", Timeout: 10 * time.Second}, log)
		if _, err := platform.Query[any](ctx, c, "CREATE item SET n = $n, at = time::now()", map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	for _, c := range clients {
		_ = c.Close()
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "panicked") {
			t.Errorf("shutdown logged: %s", line)
		}
	}
}

// The engine's stderr is logged a line at a time, and a Rust dbg! print
// (one element per line) is a single Debug record, not WARNs.
func TestLogWriterLinesAndDebugPrints(t *testing.T) {
	var logs lockedBuffer
	w := &logWriter{log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, chunk := range []string{
		"[surrealdb-core/src/val/datetime/timestamp.rs:41:9] ts.to_be_bytes() = [\n    0,\n    1,\n",
		"    2,\n]\nfirst warning\nsecond ",
		"warning\n[x.rs:1:2] n = 5\n",
	} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	want := []string{`"level":"DEBUG","msg":"surrealdb debug print","text":"[surrealdb-core/src/val/datetime/timestamp.rs:41:9] ts.to_be_bytes() = [\n    0,\n    1,\n    2,\n]"`,
		`"level":"WARN","msg":"first warning"`, `"level":"WARN","msg":"second warning"`, `"level":"DEBUG","msg":"surrealdb debug print","text":"[x.rs:1:2] n = 5"`}
	if len(lines) != len(want) {
		t.Fatalf("%d records, want %d:\n%s", len(lines), len(want), logs.String())
	}
	for i, l := range lines {
		if !strings.Contains(l, want[i]) {
			t.Errorf("record %d: %s, want %s", i, l, want[i])
		}
	}
}
