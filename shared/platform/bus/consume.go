package bus

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// Delivery is one message handed to a consumer: the payload the consumer Lambda receives.
type Delivery struct {
	Subject  string            `json:"subject"`
	MsgID    string            `json:"msg_id"`
	Data     json.RawMessage   `json:"data"`
	Headers  map[string]string `json:"headers,omitempty"`
	Attempt  int               `json:"attempt"`
	Stream   string            `json:"stream"`
	Sequence uint64            `json:"sequence"`
	Time     time.Time         `json:"time"`
}

// Handler processes one delivery. nil acks; an error naks for a later retry, or
// dead-letters at once when it is Permanent.
type Handler func(ctx context.Context, d Delivery) error

// BatchHandler processes deliveries together (a subject busy enough that one
// write per message would be the bottleneck). It returns one outcome per
// delivery, in order, with Handler's meaning.
type BatchHandler func(ctx context.Context, ds []Delivery) []error

// Each handles a batch one delivery at a time with h, each in the trace its
// message carries (obs.TraceHeader), if any.
func Each(h Handler) BatchHandler {
	return func(ctx context.Context, ds []Delivery) []error {
		errs := make([]error, len(ds))
		for i, d := range ds {
			errs[i] = h(DeliveryContext(ctx, d), d)
		}
		return errs
	}
}

// DeliveryContext is ctx in a span of the trace d carries, so that the
// consumer's logs and the events it publishes continue the publisher's trace.
func DeliveryContext(ctx context.Context, d Delivery) context.Context {
	for k, v := range d.Headers {
		if strings.EqualFold(k, obs.TraceHeader) {
			if t, ok := obs.ParseTraceparent(v); ok {
				return obs.WithTrace(ctx, t.Child())
			}
		}
	}
	return ctx
}

// PermanentError marks a failure that no retry can fix (a malformed event):
// the message goes straight to the dead-letter stream.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// permanentTypeName is how a PermanentError is named once it has crossed the
// Lambda Invoke API as an errorType.
const permanentTypeName = "PermanentError"

// typedError is implemented by errors that carry a remote error type name (invoke.FunctionError).
type typedError interface{ ErrorTypeName() string }

// IsPermanent reports whether err, local or returned by an invoked function, is permanent.
func IsPermanent(err error) bool {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return true
	}
	var te typedError
	return errors.As(err, &te) && te.ErrorTypeName() == permanentTypeName
}

// ConsumerSpec is a durable JetStream consumer.
type ConsumerSpec struct {
	// Name is the durable name; the catalog function name.
	Name       string
	Subjects   []string
	MaxDeliver int
	// AckWait is how long a delivery may take before JetStream redelivers it.
	AckWait time.Duration
	// RetryBase is the first retry delay; each later one doubles, up to RetryMax.
	RetryBase time.Duration
	RetryMax  time.Duration
	// Concurrency is how many deliveries, or batches, are handled at once (default 8).
	Concurrency int
	// BatchSize is the most deliveries handed over together (default 1).
	// Deliveries that are already waiting are batched; none is held back to
	// fill a batch.
	BatchSize int
	// UnavailableBase and UnavailableMax bound the backoff after an
	// unavailable outcome (IsUnavailable), which is not counted as an
	// attempt; UnavailableFor is how long after its publication a message
	// may keep coming back unavailable before it is dead-lettered. Zero
	// takes the defaults (30 s, 5 min, 24 h).
	UnavailableBase time.Duration
	UnavailableMax  time.Duration
	UnavailableFor  time.Duration
	// Observe, if set, is told each outcome: "acked", "retried",
	// "unavailable", "dead_lettered".
	Observe func(outcome string)
}

// SpecFor builds the consumer spec of a catalog consumer function.
func SpecFor(f catalog.Function, retryBase time.Duration) ConsumerSpec {
	conc := f.Concurrency
	if conc == 0 {
		conc = 8
	}
	ackWait := f.AckWait
	if ackWait == 0 {
		ackWait = f.Timeout + 5*time.Second
	}
	return ConsumerSpec{
		Name: f.Name, Subjects: f.Subjects, MaxDeliver: f.MaxDeliver,
		AckWait: ackWait, RetryBase: retryBase, RetryMax: time.Minute, Concurrency: conc,
		BatchSize: f.Batch,
	}
}

// Backoff is the delay before delivery attempt+1.
func (s ConsumerSpec) Backoff(attempt int) time.Duration {
	base, ceiling := s.RetryBase, s.RetryMax
	if base <= 0 {
		base = time.Second
	}
	if ceiling <= 0 {
		ceiling = time.Minute
	}
	d := base
	for i := 1; i < attempt && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

// Subscription is a running consumer.
type Subscription struct {
	name string
	cons jetstream.Consumer
	cc   jetstream.ConsumeContext
	quit chan struct{}
	wg   *sync.WaitGroup
	stop context.CancelFunc
}

// Stop stops fetching and waits for the batches in hand to finish; messages
// fetched but not yet handed over are released for redelivery.
func (s *Subscription) Stop() {
	s.cc.Stop()
	close(s.quit)
	s.wg.Wait()
	s.stop()
}

// Bound checks that the durable consumer still exists on the server and
// that this subscription is still pulling from it.
func (s *Subscription) Bound(ctx context.Context) error {
	if _, err := s.cons.Info(ctx); err != nil {
		return fmt.Errorf("consumer %s: %w", s.name, err)
	}
	select {
	case <-s.cc.Closed():
		return fmt.Errorf("consumer %s: no longer pulling", s.name)
	default:
	}
	return nil
}

// Lag is how far a consumer is behind: Pending messages not yet delivered,
// AckPending delivered and not yet settled (in flight, or waiting for a
// redelivery after a failure or an unavailable dependency).
type Lag struct {
	Consumer   string
	Pending    uint64
	AckPending int
}

// Lag asks the server how far this consumer is behind.
func (s *Subscription) Lag(ctx context.Context) (Lag, error) {
	info, err := s.cons.Info(ctx)
	if err != nil {
		return Lag{}, fmt.Errorf("consumer %s: %w", s.name, err)
	}
	return Lag{Consumer: s.name, Pending: info.NumPending, AckPending: info.NumAckPending}, nil
}

// Consume runs h for the messages on spec's subjects through a durable
// consumer: spec.Concurrency workers each take the next message and whatever
// else is waiting, up to spec.BatchSize.
func (b *Bus) Consume(ctx context.Context, spec ConsumerSpec, h BatchHandler) (*Subscription, error) {
	if spec.MaxDeliver < 1 {
		return nil, fmt.Errorf("consumer %s: MaxDeliver must be ≥ 1", spec.Name)
	}
	stream, ok := catalog.StreamFor(spec.Subjects[0])
	if !ok {
		return nil, fmt.Errorf("consumer %s: no stream keeps %s", spec.Name, spec.Subjects[0])
	}
	if spec.AckWait == 0 {
		spec.AckWait = 30 * time.Second
	}
	if spec.Concurrency == 0 {
		spec.Concurrency = 8
	}
	spec.BatchSize = max(spec.BatchSize, 1)
	inFlight := spec.Concurrency * spec.BatchSize
	if _, err := b.unavailableKV(ctx); err != nil {
		return nil, fmt.Errorf("consumer %s: %w", spec.Name, err)
	}
	cons, err := b.js.CreateOrUpdateConsumer(ctx, stream.Name, jetstream.ConsumerConfig{
		Durable:        spec.Name,
		FilterSubjects: spec.Subjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        spec.AckWait,
		// Unlimited on the server: deliveries that ended unavailable do not
		// count, so settle enforces spec.MaxDeliver on the counted attempts.
		MaxDeliver:    -1,
		MaxAckPending: inFlight * 4,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, fmt.Errorf("consumer %s on %s: %w", spec.Name, stream.Name, err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	msgs := make(chan jetstream.Msg, inFlight)
	quit := make(chan struct{})
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-quit:
			_ = m.Nak()
		}
	}, jetstream.PullMaxMessages(inFlight*2), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if !errors.Is(err, jetstream.ErrNoHeartbeat) {
			b.log.Warn("consume", "consumer", spec.Name, "err", err)
		}
	}))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("consume %s: %w", spec.Name, err)
	}
	wg := &sync.WaitGroup{}
	for range spec.Concurrency {
		wg.Go(func() {
			for {
				var batch []jetstream.Msg
				select {
				case m := <-msgs:
					batch = append(batch, m)
				case <-quit:
					for { // release what was fetched but not handed over
						select {
						case m := <-msgs:
							_ = m.Nak()
						default:
							return
						}
					}
				}
			fill:
				for len(batch) < spec.BatchSize {
					select {
					case m := <-msgs:
						batch = append(batch, m)
					default:
						break fill
					}
				}
				b.deliver(runCtx, spec, stream.Name, batch, h)
			}
		})
	}
	return &Subscription{name: spec.Name, cons: cons, cc: cc, quit: quit, wg: wg, stop: cancel}, nil
}

// deliver hands a batch to h and settles each message by its outcome.
func (b *Bus) deliver(ctx context.Context, spec ConsumerSpec, stream string, batch []jetstream.Msg, h BatchHandler) {
	msgs := make([]jetstream.Msg, 0, len(batch))
	ds := make([]Delivery, 0, len(batch))
	var counts []int // deliveries of each that ended unavailable
	for _, m := range batch {
		meta, err := m.Metadata()
		if err != nil {
			b.log.Error("message without metadata", "consumer", spec.Name, "err", err)
			_ = m.Term()
			continue
		}
		d := Delivery{
			Subject: m.Subject(), MsgID: m.Headers().Get(nats.MsgIdHdr), Data: json.RawMessage(m.Data()),
			Attempt: int(meta.NumDelivered), Stream: stream, Sequence: meta.Sequence.Stream, Time: meta.Timestamp,
		}
		if len(m.Headers()) > 0 {
			d.Headers = map[string]string{}
			for k := range m.Headers() {
				d.Headers[k] = m.Headers().Get(k)
			}
		}
		if target := m.Headers().Get(HeaderRedriveFor); target != "" {
			if target != spec.Name { // redriven for another consumer of the subject
				_ = m.Ack()
				continue
			}
			d.MsgID = cmp.Or(m.Headers().Get(HeaderOriginalMsgID), d.MsgID)
		}
		unavailable := 0
		if d.Attempt > 1 {
			if unavailable, err = b.unavailableCount(ctx, spec.Name, d); err != nil {
				b.log.Warn("unavailable count", "consumer", spec.Name, "err", err)
			}
			d.Attempt -= unavailable
		}
		if d.Attempt > spec.MaxDeliver { // attempts that ended without an outcome (a crash, AckWait)
			b.settle(ctx, spec, m, d, unavailable, fmt.Errorf("no outcome after %d attempts", d.Attempt-1))
			continue
		}
		msgs, ds, counts = append(msgs, m), append(ds, d), append(counts, unavailable)
	}
	if len(ds) == 0 {
		return
	}
	stopProgress := inProgress(msgs, spec.AckWait)
	errs := h(ctx, ds)
	stopProgress()
	if len(errs) != len(ds) {
		err := fmt.Errorf("consumer %s answered %d outcomes for %d deliveries", spec.Name, len(errs), len(ds))
		errs = make([]error, len(ds))
		for i := range errs {
			errs[i] = err
		}
	}
	for i, m := range msgs {
		b.settle(ctx, spec, m, ds[i], counts[i], errs[i])
	}
}

// inProgress tells JetStream every third of ackWait that msgs are still
// being handled, so that only a crashed handler's messages are delivered
// again after ackWait; the returned function stops it.
func inProgress(msgs []jetstream.Msg, ackWait time.Duration) func() {
	if ackWait <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(ackWait / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				for _, m := range msgs {
					_ = m.InProgress()
				}
			}
		}
	}()
	return func() { close(done) }
}

// settle acks, dead-letters or naks (with backoff) one message by the
// outcome herr; unavailable is how many of its deliveries ended unavailable.
func (b *Bus) settle(ctx context.Context, spec ConsumerSpec, m jetstream.Msg, d Delivery, unavailable int, herr error) {
	log := b.log.With("consumer", spec.Name, "subject", d.Subject, "msg_id", d.MsgID, "attempt", d.Attempt)
	observe := func(outcome string) {
		if spec.Observe != nil {
			spec.Observe(outcome)
		}
	}
	forget := func() {
		if unavailable > 0 {
			if err := b.setUnavailableCount(ctx, spec.Name, d, 0); err != nil {
				log.Warn("forget unavailable count", "err", err)
			}
		}
	}
	if IsUnavailable(herr) && !IsPermanent(herr) && time.Since(d.Time) < cmpDur(spec.UnavailableFor, DefaultUnavailableFor) {
		// Not an attempt: count it apart, so the next delivery's Attempt stays.
		if err := b.setUnavailableCount(ctx, spec.Name, d, unavailable+1); err != nil {
			log.Warn("unavailable count; this delivery counts as an attempt", "err", err)
		}
		delay := spec.UnavailableBackoff(unavailable + 1)
		if err := m.NakWithDelay(delay); err != nil {
			log.Warn("nak", "err", err)
		}
		log.Warn("unavailable; not counted as an attempt", "err", herr, "delay", delay.String(), "unavailable", unavailable+1)
		observe("unavailable")
		return
	}
	switch {
	case herr == nil:
		if err := m.Ack(); err != nil {
			log.Warn("ack", "err", err)
		}
		forget()
		observe("acked")
	case IsPermanent(herr) || d.Attempt >= spec.MaxDeliver || IsUnavailable(herr):
		if err := b.deadLetter(ctx, spec.Name, m, d, herr); err != nil {
			// Not acknowledged: JetStream redelivers after AckWait and we try again.
			log.Error("dead-letter failed; message stays pending", "err", err, "cause", herr)
			return
		}
		if err := m.Term(); err != nil {
			log.Warn("term", "err", err)
		}
		forget()
		log.Warn("dead-lettered", "err", herr, "permanent", IsPermanent(herr))
		observe("dead_lettered")
	default:
		delay := spec.Backoff(d.Attempt)
		if asked, ok := retryDelay(herr); ok {
			delay = asked
		}
		if err := m.NakWithDelay(delay); err != nil {
			log.Warn("nak", "err", err)
		}
		log.Info("retrying", "err", herr, "delay", delay.String())
		observe("retried")
	}
}

// deadLetter keeps the original message with its last error on deadletter.<consumer>.
func (b *Bus) deadLetter(ctx context.Context, consumer string, m jetstream.Msg, d Delivery, cause error) error {
	msg := nats.NewMsg("deadletter." + consumer)
	msg.Data = m.Data()
	for k, vs := range m.Headers() {
		if k == nats.MsgIdHdr {
			continue
		}
		for _, v := range vs {
			msg.Header.Add(k, v)
		}
	}
	msg.Header.Set(HeaderOriginalSubject, d.Subject)
	msg.Header.Set(HeaderOriginalStream, d.Stream)
	msg.Header.Set(HeaderOriginalSequence, strconv.FormatUint(d.Sequence, 10))
	msg.Header.Set(HeaderOriginalMsgID, d.MsgID)
	msg.Header.Set(HeaderConsumer, consumer)
	msg.Header.Set(HeaderError, truncate(cause.Error(), 2048))
	msg.Header.Set(HeaderAttempts, strconv.Itoa(d.Attempt))
	// One dead letter per (consumer, original message), even if Term is lost and we retry.
	_, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(consumer+":"+d.Stream+":"+strconv.FormatUint(d.Sequence, 10)))
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
