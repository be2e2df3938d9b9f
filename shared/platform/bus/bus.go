// Package bus is the only package that talks to NATS. It keeps the JetStream
// streams of the catalog, publishes with Nats-Msg-Id de-duplication, and
// consumes with ack on success, nak with backoff on error, a bounded number of
// deliveries and a dead-letter stream that keeps the message and its last error.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

// Headers added to dead-lettered messages.
const (
	HeaderOriginalSubject  = "Stratum-Original-Subject"
	HeaderOriginalStream   = "Stratum-Original-Stream"
	HeaderOriginalSequence = "Stratum-Original-Sequence"
	HeaderOriginalMsgID    = "Stratum-Original-Msg-Id"
	HeaderConsumer         = "Stratum-Consumer"
	HeaderError            = "Stratum-Error"
	HeaderAttempts         = "Stratum-Attempts"
)

// DuplicateWindow is how long JetStream remembers a Nats-Msg-Id.
const DuplicateWindow = 2 * time.Hour

// ErrUnavailable means NATS could not be reached; it reports HTTP status 503.
var ErrUnavailable error = unavailableError{}

type unavailableError struct{}

func (unavailableError) Error() string   { return "nats unavailable" }
func (unavailableError) HTTPStatus() int { return 503 }

// Bus is a NATS connection with JetStream.
type Bus struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger
	// unavail counts unavailable deliveries (unavailable.go).
	unavail unavailableCounts
}

// Connect dials url (NATS_URL), authenticating as AuthFromEnv says, and
// keeps reconnecting for as long as the Bus lives.
func Connect(ctx context.Context, url, name string, log *slog.Logger) (*Bus, error) {
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "bus")
	auth, err := AuthFromEnv()
	if err != nil {
		return nil, fmt.Errorf("connect nats %s: %w", url, err)
	}
	secure, err := TLSFromEnv()
	if err != nil {
		return nil, fmt.Errorf("connect nats %s: %w", url, err)
	}
	auth = append(auth, secure...)
	nc, err := nats.Connect(url, append(auth,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		nats.Timeout(2*time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", "url", c.ConnectedUrl()) }),
	)...)
	if err != nil {
		return nil, fmt.Errorf("connect nats %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	return &Bus{nc: nc, js: js, log: log}, nil
}

// Close drains and closes the connection.
func (b *Bus) Close() {
	_ = b.nc.Drain()
}

// Ping checks that NATS and JetStream answer.
func (b *Bus) Ping(ctx context.Context) error {
	if !b.nc.IsConnected() {
		return fmt.Errorf("%w: %s", ErrUnavailable, b.nc.Status())
	}
	if _, err := b.js.AccountInfo(ctx); err != nil {
		return fmt.Errorf("%w: jetstream: %v", ErrUnavailable, err)
	}
	return nil
}

// EnsureStreams creates or updates the given streams and the dead-letter stream.
func (b *Bus) EnsureStreams(ctx context.Context, streams []catalog.Stream) error {
	for _, s := range append(append([]catalog.Stream{}, streams...), catalog.DeadLetterStream) {
		_, err := b.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:       s.Name,
			Subjects:   s.Subjects,
			Storage:    jetstream.FileStorage,
			Retention:  jetstream.LimitsPolicy,
			MaxAge:     s.MaxAge,
			Duplicates: DuplicateWindow,
		})
		if err != nil {
			return fmt.Errorf("ensure stream %s: %w", s.Name, err)
		}
	}
	return nil
}

// Publish sends v as JSON on subject with msgID as its Nats-Msg-Id, so that a
// second publish of the same id within DuplicateWindow is dropped by JetStream.
// It reports whether the message was a duplicate.
func (b *Bus) Publish(ctx context.Context, subject, msgID string, v any, headers map[string]string) (duplicate bool, err error) {
	if msgID == "" {
		return false, fmt.Errorf("publish %s: a message id is required for de-duplication", subject)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return false, fmt.Errorf("publish %s: encode: %w", subject, err)
	}
	msg := nats.NewMsg(subject)
	msg.Data = data
	for k, val := range headers {
		msg.Header.Set(k, val)
	}
	if t, ok := obs.TraceFrom(ctx); ok && msg.Header.Get(obs.TraceHeader) == "" {
		msg.Header.Set(obs.TraceHeader, t.Child().Traceparent()) // the consumer continues this trace
	}
	ack, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(msgID))
	if err != nil {
		if errors.Is(err, nats.ErrConnectionClosed) || errors.Is(err, nats.ErrNoResponders) ||
			errors.Is(err, context.DeadlineExceeded) || !b.nc.IsConnected() {
			return false, fmt.Errorf("publish %s: %w: %v", subject, ErrUnavailable, err)
		}
		return false, fmt.Errorf("publish %s: %w", subject, err)
	}
	return ack.Duplicate, nil
}

// StreamMessage is one message read back from a stream (dead letters, tests).
type StreamMessage struct {
	Subject  string
	Sequence uint64
	Data     []byte
	Headers  map[string]string
	Time     time.Time
}

// ReadStream returns up to limit messages of stream whose subject matches filter, oldest first.
func (b *Bus) ReadStream(ctx context.Context, stream, filter string, limit int) ([]StreamMessage, error) {
	s, err := b.js.Stream(ctx, stream)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", stream, err)
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", stream, err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, fmt.Errorf("stream %s info: %w", stream, err)
	}
	want := min(limit, int(info.State.Msgs))
	var out []StreamMessage
	for len(out) < want {
		batch, err := cons.Fetch(want-len(out), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return out, fmt.Errorf("read %s: %w", stream, err)
		}
		n := 0
		for m := range batch.Messages() {
			n++
			meta, _ := m.Metadata()
			sm := StreamMessage{Subject: m.Subject(), Data: m.Data(), Headers: map[string]string{}}
			if meta != nil {
				sm.Sequence, sm.Time = meta.Sequence.Stream, meta.Timestamp
			}
			for k := range m.Headers() {
				sm.Headers[k] = m.Headers().Get(k)
			}
			out = append(out, sm)
		}
		if n == 0 {
			break
		}
	}
	return out, nil
}
