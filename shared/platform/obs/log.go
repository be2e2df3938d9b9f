// Package obs is observability for every function: slog JSON logs that carry
// the request id, Prometheus metrics per function, and /health endpoints that
// check the real dependencies.
package obs

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
)

// NewLogger returns a JSON logger for one function, at LOG_LEVEL (debug, info, warn, error; default info).
func NewLogger(w io.Writer, function string) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: LevelFromEnv()})
	l := slog.New(h)
	if function != "" {
		l = l.With("function", function)
	}
	return l
}

// LevelFromEnv reads LOG_LEVEL.
func LevelFromEnv() slog.Level {
	switch strings.ToLower(os.Getenv("LOG_LEVEL")) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

type loggerKey struct{}
type requestIDKey struct{}

// WithLogger stores l in ctx.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// Log returns the logger stored in ctx, or the default logger.
func Log(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// WithRequestID stores the request id in ctx and adds it to ctx's logger.
func WithRequestID(ctx context.Context, id string) context.Context {
	ctx = context.WithValue(ctx, requestIDKey{}, id)
	return WithLogger(ctx, Log(ctx).With("request_id", id))
}

// RequestID returns the request id stored in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
