package bus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/stratumiops/stratumiops/shared/platform/catalog"
)

// HeaderRedriveFor marks a message republished by Redrive: only that
// consumer handles it; the subject's other consumers, which processed the
// original, acknowledge it unread.
const HeaderRedriveFor = "Stratum-Redrive-For"

// DeadLetter is one message of the DEADLETTER stream, as `stratum
// deadletter list` shows it.
type DeadLetter struct {
	Sequence uint64    `json:"sequence"`
	Consumer string    `json:"consumer"`
	Subject  string    `json:"subject"`
	MsgID    string    `json:"msg_id"`
	Attempts int       `json:"attempts"`
	Error    string    `json:"error"`
	Time     time.Time `json:"time"`
	Data     string    `json:"data"`
}

// DeadLetters lists up to limit dead letters, oldest first, of consumer
// ("" for every consumer).
func (b *Bus) DeadLetters(ctx context.Context, consumer string, limit int) ([]DeadLetter, error) {
	filter := "deadletter.>"
	if consumer != "" {
		filter = "deadletter." + consumer
	}
	msgs, err := b.ReadStream(ctx, catalog.DeadLetterStream.Name, filter, limit)
	if err != nil && !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, err
	}
	out := make([]DeadLetter, 0, len(msgs))
	for _, m := range msgs {
		attempts, _ := strconv.Atoi(m.Headers[HeaderAttempts])
		out = append(out, DeadLetter{Sequence: m.Sequence, Consumer: m.Headers[HeaderConsumer],
			Subject: m.Headers[HeaderOriginalSubject], MsgID: m.Headers[HeaderOriginalMsgID], Attempts: attempts,
			Error: m.Headers[HeaderError], Time: m.Time, Data: string(m.Data)})
	}
	return out, nil
}

// Redrive republishes dead letter seq on its original subject for its
// consumer alone (HeaderRedriveFor), with its original headers, then
// removes it from the DEADLETTER stream. A second redrive of the same dead
// letter within DuplicateWindow is dropped by JetStream.
func (b *Bus) Redrive(ctx context.Context, seq uint64) (DeadLetter, error) {
	s, err := b.js.Stream(ctx, catalog.DeadLetterStream.Name)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("stream %s: %w", catalog.DeadLetterStream.Name, err)
	}
	raw, err := s.GetMsg(ctx, seq)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("dead letter %d: %w", seq, err)
	}
	h := raw.Header
	dl := DeadLetter{Sequence: seq, Consumer: h.Get(HeaderConsumer), Subject: h.Get(HeaderOriginalSubject),
		MsgID: h.Get(HeaderOriginalMsgID), Error: h.Get(HeaderError), Time: raw.Time, Data: string(raw.Data)}
	dl.Attempts, _ = strconv.Atoi(h.Get(HeaderAttempts))
	if dl.Consumer == "" || dl.Subject == "" {
		return dl, fmt.Errorf("dead letter %d names no consumer or original subject: not redriven", seq)
	}
	msg := nats.NewMsg(dl.Subject)
	msg.Data = raw.Data
	for k, vs := range h {
		if strings.HasPrefix(k, "Stratum-") || k == nats.MsgIdHdr {
			continue // the dead letter's own headers
		}
		for _, v := range vs {
			msg.Header.Add(k, v)
		}
	}
	msg.Header.Set(HeaderRedriveFor, dl.Consumer)
	msg.Header.Set(HeaderOriginalMsgID, dl.MsgID) // the consumer sees the event's own id again
	id := "redrive:" + dl.Consumer + ":" + strconv.FormatUint(seq, 10)
	if _, err := b.js.PublishMsg(ctx, msg, jetstream.WithMsgID(id)); err != nil {
		return dl, fmt.Errorf("redrive %d to %s: %w", seq, dl.Subject, err)
	}
	if err := s.DeleteMsg(ctx, seq); err != nil {
		return dl, fmt.Errorf("redriven, but dead letter %d stays listed: %w", seq, err)
	}
	return dl, nil
}
