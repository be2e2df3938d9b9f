package surreal

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"
)

// ForTests gives a test binary a SurrealDB: the one at SURREAL_TEST_URL when set,
// else a fresh server of its own on RocksDB in a temporary directory (the
// storage that detects write-write conflicts, as production's must), or on
// SURREAL_TEST_STORAGE (an engine URL) to reproduce a storage's behaviour. stop is safe to call either way.
func ForTests() (url string, stop func(), err error) {
	if u := os.Getenv("SURREAL_TEST_URL"); u != "" {
		return u, func() {}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	quiet := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	storage := os.Getenv("SURREAL_TEST_STORAGE")
	srv, err := Start(ctx, Options{Storage: storage, AllowLostUpdates: storage != "", Logger: quiet})
	if err != nil {
		return "", func() {}, err
	}
	return srv.URL(), func() { _ = srv.Close() }, nil
}

// RunTests is a TestMain body for packages that need SurrealDB: it sets *url,
// runs the tests and stops the server. Use: os.Exit(surreal.RunTests(m, &url)).
func RunTests(m *testing.M, url *string) int {
	u, stop, err := ForTests()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start surrealdb:", err)
		return 1
	}
	defer stop()
	*url = u
	return m.Run()
}
