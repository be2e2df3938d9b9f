// Package auditlog is the vault's audit log in SurrealDB: entries in lanes,
// each lane a chain of HMAC links keyed with the audit chain key (derived in
// vault-crypto from the audit key), and checkpoints of every lane's head that
// vault-audit signs and keeps outside the database.
//
// A lane is extended by one writer at a time (a Lambda instance's, or one of
// an in-process pool's), so appends never compete: entry n of a lane is the
// record audit_log:⟨<lane>-<n>⟩, created with CREATE, so two writers of the
// same entry cannot both commit, and a writer whose append failed drops its
// lane and starts another. Editing, reordering or removing an entry breaks
// its lane (the next link, or its own); removing a lane's tail, or a whole
// lane, is seen against the latest checkpoint; re-chaining needs the key.
package auditlog

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Genesis is the "previous link" of a lane's first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Link is entry seq of lane given the previous link: an HMAC-SHA256 with the
// chain key over the previous link, the lane, the sequence and the entry.
func Link(key []byte, prev, lane string, seq int, entry string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(prev + "\n" + lane + "\n" + strconv.Itoa(seq) + "\n"))
	m.Write([]byte(entry))
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// RecordID is the record of entry seq of a lane (the legacy chain's entries
// are audit_log:⟨<12-digit seq>⟩).
func RecordID(lane string, seq int) models.RecordID {
	if lane == "" {
		return models.NewRecordID("audit_log", fmt.Sprintf("%012d", seq))
	}
	return models.NewRecordID("audit_log", fmt.Sprintf("%s-%012d", lane, seq))
}

// lane is where one writer is in its chain.
type lane struct {
	id   string
	seq  int
	link string
}

// Appender writes entries, each writer at a time on a lane of its own.
type Appender struct {
	DB   *surreal.Client
	pool chan *lane
}

// NewAppender keeps up to idle lanes between appends.
func NewAppender(db *surreal.Client, idle int) *Appender {
	return &Appender{DB: db, pool: make(chan *lane, idle)}
}

// Append adds entry (canonical JSON) to a free lane, chained with key.
func (a *Appender) Append(ctx context.Context, key []byte, entry []byte) error {
	var l *lane
	select {
	case l = <-a.pool:
	default:
		l = &lane{id: newLaneID(), link: Genesis}
	}
	seq := l.seq + 1
	link := Link(key, l.link, l.id, seq, string(entry))
	_, err := surreal.Query[any](ctx, a.DB, "CREATE $id CONTENT { lane: $lane, seq: $seq, prev: $prev, hash: $hash, entry: $entry }",
		map[string]any{"id": RecordID(l.id, seq), "lane": l.id, "seq": seq, "prev": l.link, "hash": link, "entry": string(entry)})
	if err != nil {
		// Whether it was written is unknown: the lane is left as it is.
		return fmt.Errorf("audit append: %w", err)
	}
	l.seq, l.link = seq, link
	select {
	case a.pool <- l:
	default: // enough idle lanes: this one ends here
	}
	return nil
}

// Reset drops the idle lanes: the next appends start new ones.
func (a *Appender) Reset() {
	for {
		select {
		case <-a.pool:
		default:
			return
		}
	}
}

func newLaneID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
