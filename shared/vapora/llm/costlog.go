package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// SubjectCosts carries the router's cost records to vapora-llm-on-cost,
// which writes them: a route waits for JetStream to keep the record, not
// for the database to commit it.
const SubjectCosts = "vapora.llm.costs"

// costMessage is a cost record on SubjectCosts: its Nats-Msg-Id is the
// record's id, so a publish repeated within the stream's duplicate window
// is dropped, and the consumer writes each id once.
type costMessage struct {
	CostRecord
	Micros int64 `json:"cost_micros"`
}

// recorder keeps the calls' cost records: published on the bus when the
// router has one, written at once when it has none or the publish fails
// (a record written both ways is stored once: AddCosts skips a known id).
type recorder struct {
	store *Store
	bus   *bus.Bus
}

// record keeps c, durably, before the route answers.
func (r recorder) record(ctx context.Context, c CostRecord) error {
	if r.bus != nil {
		_, err := r.bus.Publish(ctx, SubjectCosts, c.ID, costMessage{CostRecord: c, Micros: c.CostMicros}, nil)
		if err == nil {
			return nil
		}
		obs.Log(ctx).Warn("publish cost record; writing it directly", "id", c.ID, "err", err)
	}
	return r.store.AddCosts(ctx, []CostRecord{c})
}

var costID = regexp.MustCompile(`^[0-9a-f]{16,64}$`)

// decodeCost reads a cost message; one that is not a cost record is permanent.
func decodeCost(d bus.Delivery) (CostRecord, error) {
	var m costMessage
	if err := json.Unmarshal(d.Data, &m); err != nil {
		return CostRecord{}, bus.Permanent(fmt.Errorf("cost message %s: %w", d.MsgID, err))
	}
	c := m.CostRecord
	c.CostMicros = m.Micros
	switch {
	case !costID.MatchString(c.ID):
		return CostRecord{}, bus.Permanent(fmt.Errorf("cost message %s: id %q is not a cost record id", d.MsgID, c.ID))
	case events.OneOf("role", c.Role, events.AgentRoles) != nil:
		return CostRecord{}, bus.Permanent(fmt.Errorf("cost message %s: %w", d.MsgID, events.OneOf("role", c.Role, events.AgentRoles)))
	case c.Timestamp.IsZero() || c.CostMicros < 0 || c.InputTokens < 0 || c.OutputTokens < 0:
		return CostRecord{}, bus.Permanent(fmt.Errorf("cost message %s: no timestamp, or a negative cost or token count", d.MsgID))
	}
	return c, nil
}

// WriteCosts is vapora-llm-on-cost's handler: it writes a batch of cost
// records in one statement, each once by its id (a redelivery, or a
// record the router also wrote directly, is skipped). A malformed message
// is dead-lettered alone; a failed write retries the batch.
func WriteCosts(store *Store) bus.BatchHandler {
	return func(ctx context.Context, ds []bus.Delivery) []error {
		errs := make([]error, len(ds))
		var batch []CostRecord
		var at []int
		for i, d := range ds {
			c, err := decodeCost(d)
			if err != nil {
				errs[i] = err
				continue
			}
			batch, at = append(batch, c), append(at, i)
		}
		if err := store.AddCosts(ctx, batch); err != nil {
			for _, i := range at {
				errs[i] = err
			}
		} else if len(batch) > 0 {
			oldest := time.Since(ds[at[0]].Time)
			obs.Log(ctx).Debug("cost records written", "records", len(batch), "oldest_published_ago_ms", oldest.Milliseconds())
		}
		return errs
	}
}

// CostConsumer is vapora-llm-on-cost.
func CostConsumer() function.Builder {
	return function.BatchConsumer(func(ctx context.Context, d *function.Deps) (bus.BatchHandler, error) {
		if d.Surreal == nil {
			return nil, errors.New("vapora-llm-on-cost: no database")
		}
		return WriteCosts(NewStore(d.Surreal)), nil
	})
}
