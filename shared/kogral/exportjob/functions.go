package exportjob

import (
	"context"
	"fmt"
	"strconv"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/function"
)

// OnRequested is kogral-export's handler: it runs the job an
// ExportRequested names. The delivery numbered maxDeliver is the last: if
// it fails, so does the job.
func OnRequested(r *Runner, maxDeliver int) bus.Handler {
	return bus.Typed(func(ctx context.Context, d bus.Delivery, e events.ExportRequested) error {
		if !ValidID(e.JobID) {
			return bus.Permanent(fmt.Errorf("export job id %q is malformed", e.JobID))
		}
		return r.Run(ctx, e.JobID, d.Attempt >= maxDeliver)
	})
}

// Functions is kogral-export.
func Functions() function.Set { return function.Set{"kogral-export": Function} }

// Function is kogral-export: KOGRAL_EXPORT_MAX_BYTES bounds a result.
func Function() function.Builder {
	return function.Consumer(func(ctx context.Context, d *function.Deps) (bus.Handler, error) {
		limit, err := strconv.Atoi(d.Env("KOGRAL_EXPORT_MAX_BYTES"))
		if err != nil || limit < 1 {
			return nil, fmt.Errorf("KOGRAL_EXPORT_MAX_BYTES %q: want a positive number of bytes", d.Env("KOGRAL_EXPORT_MAX_BYTES"))
		}
		return OnRequested(NewRunner(NewStore(d.Surreal), limit), d.Function.MaxDeliver), nil
	})
}
