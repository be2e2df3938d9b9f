package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// Dispatcher is the NATS → Lambda bridge: AWS has no NATS trigger, so this
// long-running component pulls each consumer function's messages from
// JetStream and invokes the function with the Delivery, acking only on success.
type Dispatcher struct {
	Bus     *Bus
	Invoker invoke.Invoker
	// RetryBase is the first redelivery delay (default 1s).
	RetryBase time.Duration
	// Observe, if set, is told each function's outcomes.
	Observe func(function, outcome string)

	subs []*Subscription
}

// Start consumes for every consumer function in fns.
func (d *Dispatcher) Start(ctx context.Context, fns []catalog.Function) error {
	for _, f := range fns {
		if f.Kind != catalog.Consumer {
			continue
		}
		spec := SpecFor(f, d.RetryBase)
		if d.Observe != nil {
			name := f.Name
			spec.Observe = func(outcome string) { d.Observe(name, outcome) }
		}
		sub, err := d.Bus.Consume(ctx, spec, d.invoker(f.Name))
		if err != nil {
			d.Stop()
			return fmt.Errorf("dispatch %s: %w", f.Name, err)
		}
		d.subs = append(d.subs, sub)
	}
	return nil
}

func (d *Dispatcher) invoker(function string) Handler {
	return func(ctx context.Context, del Delivery) error {
		payload, err := json.Marshal(del)
		if err != nil {
			return Permanent(fmt.Errorf("encode delivery: %w", err))
		}
		_, err = d.Invoker.Invoke(ctx, function, payload)
		return err
	}
}

// Stop stops every consumer, letting in-flight invocations finish.
func (d *Dispatcher) Stop() {
	for _, s := range d.subs {
		s.Stop()
	}
	d.subs = nil
}

// InvokeHandler is the entry point of a consumer function: it decodes the
// Delivery the dispatcher sent and runs h.
func InvokeHandler(h Handler) invoke.Handler {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var d Delivery
		if err := json.Unmarshal(payload, &d); err != nil {
			return nil, Permanent(fmt.Errorf("payload is not a bus delivery: %w", err))
		}
		if err := h(ctx, d); err != nil {
			return nil, err
		}
		return []byte(`{"ok":true}`), nil
	}
}

// Typed decodes each delivery's data strictly into T and calls fn with it. Data
// that does not decode is a permanent failure: no retry can fix it.
func Typed[T any](fn func(ctx context.Context, d Delivery, event T) error) Handler {
	return func(ctx context.Context, d Delivery) error {
		var event T
		dec := json.NewDecoder(bytes.NewReader(d.Data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&event); err != nil {
			return Permanent(fmt.Errorf("decode %s event: %w", d.Subject, err))
		}
		// An event type with a Validate method is checked before it is handled.
		if v, ok := any(event).(interface{ Validate() error }); ok {
			if err := v.Validate(); err != nil {
				return Permanent(fmt.Errorf("invalid %s event: %w", d.Subject, err))
			}
		}
		return fn(ctx, d, event)
	}
}
