package portfolio

import (
	"context"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// OnExecutionRecorded stores each portfolio.executions.recorded event once,
// keyed by the event id. An invalid event is permanent: it goes to the
// dead-letter stream without retries.
func OnExecutionRecorded(store *Store) bus.Handler {
	return bus.Typed(func(ctx context.Context, d bus.Delivery, e events.ExecutionRecorded) error {
		n, err := fromEvent(e)
		if err != nil {
			return bus.Permanent(err)
		}
		created, err := store.RecordEvent(ctx, e.ID, n, e.OccurredAt)
		if err != nil {
			return err
		}
		obs.Log(ctx).Info("execution recorded", "event_id", e.ID, "created", created)
		return nil
	})
}
