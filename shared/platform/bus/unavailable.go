package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// UnavailableError means the delivery could not be handled because something
// it needs is down or throttling (SurrealDB unavailable, Lambda throttled):
// the attempt does not count towards MaxDeliver, and the message comes back
// after a backoff of minutes, for up to ConsumerSpec.UnavailableFor.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

// Unavailable wraps err as an UnavailableError.
func Unavailable(err error) error { return &UnavailableError{Err: err} }

// unavailableTypeName is how an UnavailableError is named once it has
// crossed the Lambda Invoke API (InvokeHandler converts).
const unavailableTypeName = "UnavailableError"

// IsUnavailable reports whether err says "try later, this was no attempt":
// an UnavailableError (local, or returned by an invoked function), an error
// whose HTTP status is 503 or 429 (surreal.ErrUnavailable, bus.ErrUnavailable),
// or an AWS API error of status 429 or 5xx (the Lambda Invoke API throttling
// or failing to run the function).
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return true
	}
	var te typedError
	if errors.As(err, &te) {
		// The function ran and failed: only its own verdict counts.
		return te.ErrorTypeName() == unavailableTypeName
	}
	var sc interface{ HTTPStatus() int }
	if errors.As(err, &sc) && (sc.HTTPStatus() == 503 || sc.HTTPStatus() == 429) {
		return true
	}
	var aws interface{ HTTPStatusCode() int }
	return errors.As(err, &aws) && (aws.HTTPStatusCode() == 429 || aws.HTTPStatusCode() >= 500)
}

// Defaults of the unavailable backoff (ConsumerSpec).
const (
	DefaultUnavailableBase = 30 * time.Second
	DefaultUnavailableMax  = 5 * time.Minute
	DefaultUnavailableFor  = 24 * time.Hour
)

// UnavailableBackoff is the delay after the n-th unavailable outcome of a
// message: UnavailableBase doubling up to UnavailableMax.
func (s ConsumerSpec) UnavailableBackoff(n int) time.Duration {
	d, ceiling := cmpDur(s.UnavailableBase, DefaultUnavailableBase), cmpDur(s.UnavailableMax, DefaultUnavailableMax)
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}

func cmpDur(v, def time.Duration) time.Duration {
	if v <= 0 {
		return def
	}
	return v
}

// unavailableBucket counts, per consumer and message, the deliveries that
// ended unavailable: JetStream counts every delivery, so a message's counted
// attempts are its deliveries minus these. Kept in JetStream (a KV bucket),
// so that both dispatcher tasks and a restarted one agree.
const unavailableBucket = "BUS_UNAVAILABLE"

// unavailableCounts is the bucket, created on first use.
type unavailableCounts struct {
	mu sync.Mutex
	kv jetstream.KeyValue
}

func (b *Bus) unavailableKV(ctx context.Context) (jetstream.KeyValue, error) {
	b.unavail.mu.Lock()
	defer b.unavail.mu.Unlock()
	if b.unavail.kv != nil {
		return b.unavail.kv, nil
	}
	kv, err := b.js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: unavailableBucket,
		Description: "deliveries that ended unavailable, per consumer and message (shared/platform/bus)",
		TTL:         DefaultUnavailableFor + 24*time.Hour, Storage: jetstream.FileStorage})
	if err != nil {
		return nil, fmt.Errorf("bucket %s: %w", unavailableBucket, err)
	}
	b.unavail.kv = kv
	return kv, nil
}

func unavailableKey(consumer string, d Delivery) string {
	return consumer + "." + d.Stream + "." + strconv.FormatUint(d.Sequence, 10)
}

// unavailableCount is how many of d's deliveries ended unavailable.
func (b *Bus) unavailableCount(ctx context.Context, consumer string, d Delivery) (int, error) {
	kv, err := b.unavailableKV(ctx)
	if err != nil {
		return 0, err
	}
	e, err := kv.Get(ctx, unavailableKey(consumer, d))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(e.Value()))
}

func (b *Bus) setUnavailableCount(ctx context.Context, consumer string, d Delivery, n int) error {
	kv, err := b.unavailableKV(ctx)
	if err != nil {
		return err
	}
	key := unavailableKey(consumer, d)
	if n == 0 {
		return kv.Purge(ctx, key)
	}
	_, err = kv.Put(ctx, key, []byte(strconv.Itoa(n)))
	return err
}
