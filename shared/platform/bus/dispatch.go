package bus

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// Dispatcher is the NATS → Lambda bridge: AWS has no NATS trigger, so this
// long-running component pulls each consumer function's messages from
// JetStream and invokes the function with the Delivery (or, for a function
// with a Batch, a Batch of them), acking only what succeeded.
type Dispatcher struct {
	Bus     *Bus
	Invoker invoke.Invoker
	// RetryBase is the first redelivery delay (default 1s).
	RetryBase time.Duration
	// UnavailableBase is the first delay after an unavailable outcome, which
	// is not an attempt (default DefaultUnavailableBase, doubling up to
	// DefaultUnavailableMax).
	UnavailableBase time.Duration
	// Observe, if set, is told each function's outcomes.
	Observe func(function, outcome string)

	subs []*Subscription
}

// Batch is the payload of a batched invocation.
type Batch struct {
	Deliveries []Delivery `json:"deliveries"`
}

// BatchResult is a batched invocation's answer: the deliveries that failed,
// as Lambda's partial batch responses name them; the others succeeded.
type BatchResult struct {
	Failures []ItemFailure `json:"batch_item_failures"`
}

// ItemFailure is one failed delivery of a batch.
type ItemFailure struct {
	// Index is the delivery's position in the batch.
	Index     int    `json:"index"`
	Error     string `json:"error"`
	Permanent bool   `json:"permanent,omitempty"`
	// Unavailable: not an attempt (IsUnavailable).
	Unavailable bool `json:"unavailable,omitempty"`
}

// maxInvokePayload keeps a batched invocation under Lambda's 6 MB request limit.
const maxInvokePayload = 5 << 20

// Start consumes for every consumer function in fns.
func (d *Dispatcher) Start(ctx context.Context, fns []catalog.Function) error {
	for _, f := range fns {
		if f.Kind != catalog.Consumer {
			continue
		}
		spec := SpecFor(f, d.RetryBase)
		spec.UnavailableBase = d.UnavailableBase
		if d.Observe != nil {
			name := f.Name
			spec.Observe = func(outcome string) { d.Observe(name, outcome) }
		}
		h := Each(d.invokeOne(f.Name))
		if f.Batch > 1 {
			h = d.invokeBatch(f.Name)
		}
		sub, err := d.Bus.Consume(ctx, spec, h)
		if err != nil {
			d.Stop()
			return fmt.Errorf("dispatch %s: %w", f.Name, err)
		}
		d.subs = append(d.subs, sub)
	}
	return nil
}

func (d *Dispatcher) invokeOne(function string) Handler {
	return func(ctx context.Context, del Delivery) error {
		payload, err := json.Marshal(del)
		if err != nil {
			return Permanent(fmt.Errorf("encode delivery: %w", err))
		}
		_, err = d.Invoker.Invoke(ctx, function, payload)
		return err
	}
}

// invokeBatch invokes function once for a batch, halving a batch whose
// payload would be too large for one invocation.
func (d *Dispatcher) invokeBatch(function string) BatchHandler {
	var run BatchHandler
	run = func(ctx context.Context, ds []Delivery) []error {
		errs := make([]error, len(ds))
		payload, err := json.Marshal(Batch{Deliveries: ds})
		switch {
		case err != nil:
			return fill(errs, Permanent(fmt.Errorf("encode batch: %w", err)))
		case len(payload) > maxInvokePayload && len(ds) > 1:
			half := len(ds) / 2
			return append(run(ctx, ds[:half]), run(ctx, ds[half:])...)
		}
		out, err := d.Invoker.Invoke(ctx, function, payload)
		if err != nil {
			return fill(errs, err)
		}
		var res BatchResult
		if err := json.Unmarshal(out, &res); err != nil {
			return fill(errs, fmt.Errorf("%s answered a batch with %q: %w", function, truncate(string(out), 200), err))
		}
		for _, f := range res.Failures {
			if f.Index < 0 || f.Index >= len(ds) {
				return fill(errs, fmt.Errorf("%s reported a failure of delivery %d of %d", function, f.Index, len(ds)))
			}
			errs[f.Index] = errors.New(f.Error)
			switch {
			case f.Permanent:
				errs[f.Index] = Permanent(errs[f.Index])
			case f.Unavailable:
				errs[f.Index] = Unavailable(errs[f.Index])
			}
		}
		return errs
	}
	return run
}

func fill(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
}

// Healthy reports whether NATS and JetStream answer and every consumer is
// bound: the dispatcher's health check (a reconnecting dispatcher otherwise
// looks alive while it delivers nothing).
func (d *Dispatcher) Healthy(ctx context.Context) error {
	if err := d.Bus.Ping(ctx); err != nil {
		return err
	}
	if len(d.subs) == 0 {
		return errors.New("no consumer is bound")
	}
	for _, s := range d.subs {
		if err := s.Bound(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Lag reports every consumer's lag, in the order they were started.
func (d *Dispatcher) Lag(ctx context.Context) ([]Lag, error) {
	out := make([]Lag, 0, len(d.subs))
	for _, s := range d.subs {
		l, err := s.Lag(ctx)
		if err != nil {
			return out, err
		}
		out = append(out, l)
	}
	return out, nil
}

// Stop stops every consumer, letting in-flight invocations finish.
func (d *Dispatcher) Stop() {
	for _, s := range d.subs {
		s.Stop()
	}
	d.subs = nil
}

// InvokeHandler is the entry point of a consumer function. It takes the
// Delivery the dispatcher sent, whose failure is the invocation's error, or
// a Batch, answered with a BatchResult naming the deliveries that failed.
func InvokeHandler(h BatchHandler) invoke.Handler {
	return func(ctx context.Context, payload []byte) ([]byte, error) {
		var in struct {
			Batch
			Delivery
		}
		if err := json.Unmarshal(payload, &in); err != nil {
			return nil, Permanent(fmt.Errorf("payload is not a bus delivery: %w", err))
		}
		if in.Deliveries == nil {
			if err := h(ctx, []Delivery{in.Delivery})[0]; err != nil {
				var ue *UnavailableError
				if IsUnavailable(err) && !errors.As(err, &ue) {
					err = Unavailable(err) // its type name tells the dispatcher
				}
				return nil, err
			}
			return []byte(`{"ok":true}`), nil
		}
		var res BatchResult
		for i, err := range h(ctx, in.Deliveries) {
			if err != nil {
				res.Failures = append(res.Failures, ItemFailure{Index: i, Error: err.Error(), Permanent: IsPermanent(err),
					Unavailable: IsUnavailable(err)})
			}
		}
		return json.Marshal(res)
	}
}

// Typed decodes each delivery's data strictly into T and calls fn with it. Data
// that does not decode is a permanent failure: no retry can fix it.
func Typed[T any](fn func(ctx context.Context, d Delivery, event T) error) Handler {
	return func(ctx context.Context, d Delivery) error {
		event, err := decode[T](d)
		if err != nil {
			return err
		}
		return fn(ctx, d, event)
	}
}

// TypedBatch is Typed for a batch: fn gets the deliveries that decoded, with
// their events, and the others fail permanently.
func TypedBatch[T any](fn func(ctx context.Context, ds []Delivery, events []T) []error) BatchHandler {
	return func(ctx context.Context, ds []Delivery) []error {
		errs := make([]error, len(ds))
		var ok []int
		var good []Delivery
		var evs []T
		for i, d := range ds {
			event, err := decode[T](d)
			if err != nil {
				errs[i] = err
				continue
			}
			ok, good, evs = append(ok, i), append(good, d), append(evs, event)
		}
		if len(good) == 0 {
			return errs
		}
		out := fn(ctx, good, evs)
		if len(out) != len(good) {
			return fill(errs, fmt.Errorf("batch handler answered %d outcomes for %d events", len(out), len(good)))
		}
		for j, i := range ok {
			errs[i] = out[j]
		}
		return errs
	}
}

// decode reads a delivery's data strictly as T and checks it when T has a Validate method.
func decode[T any](d Delivery) (T, error) {
	var event T
	dec := json.NewDecoder(bytes.NewReader(d.Data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&event); err != nil {
		return event, Permanent(fmt.Errorf("decode %s event: %w", d.Subject, err))
	}
	if v, ok := any(event).(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return event, Permanent(fmt.Errorf("invalid %s event: %w", d.Subject, err))
		}
	}
	return event, nil
}
