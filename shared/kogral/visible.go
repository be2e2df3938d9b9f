package kogral

import "context"

type visibleKey struct{}

func WithVisible(ctx context.Context, f func(graph string) bool) context.Context {
	return context.WithValue(ctx, visibleKey{}, f)
}

// visibleIn is the graphs the caller in ctx may read; nil when unrestricted
// (the CLI on SurrealDB directly, the consumers).
func visibleIn(ctx context.Context) func(graph string) bool {
	f, _ := ctx.Value(visibleKey{}).(func(string) bool)
	return f
}
