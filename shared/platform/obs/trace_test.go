package obs_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

func TestTraceparentRoundTripAndXRay(t *testing.T) {
	tp := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tr, ok := obs.ParseTraceparent(tp)
	if !ok || tr.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || tr.SpanID != "00f067aa0ba902b7" || !tr.Sampled || tr.Traceparent() != tp {
		t.Fatalf("parse %q: %+v %v", tp, tr, ok)
	}
	child := tr.Child()
	if child.TraceID != tr.TraceID || child.SpanID == tr.SpanID {
		t.Fatalf("child %+v of %+v", child, tr)
	}
	for _, bad := range []string{"", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-zz-00f067aa0ba902b7-01",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"} {
		if _, ok := obs.ParseTraceparent(bad); ok {
			t.Errorf("accepted %q", bad)
		}
	}
	x, ok := obs.FromXRay("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	if !ok || x.TraceID != "5759e988bd862e3fe1be46a994272793" || x.SpanID != "53995c3f42cd8ad8" || !x.Sampled {
		t.Fatalf("x-ray: %+v %v", x, ok)
	}
	if _, ok := obs.FromXRay("Self=1-abc"); ok {
		t.Fatal("x-ray header without Root accepted")
	}
	var logs strings.Builder
	ctx := obs.WithTrace(obs.WithLogger(context.Background(), obs.NewLogger(&logs, "f")), tr)
	obs.Log(ctx).Info("hello")
	if got, _ := obs.TraceFrom(ctx); got != tr || !strings.Contains(logs.String(), `"trace_id":"`+tr.TraceID+`"`) {
		t.Fatalf("ctx trace %+v, log %s", got, logs.String())
	}
}
