package auditlog

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Head is the last entry of a lane.
type Head struct {
	Seq  int    `json:"seq"`
	Hash string `json:"hash"`
}

// Checkpoint is every lane's head at a time, MAC'd with the chain key. It is
// kept outside the database (S3, a directory in the devstack), so that a
// database that lost entries or lanes, or went back to an older copy, no
// longer matches it.
type Checkpoint struct {
	Time    string          `json:"time"`
	Entries int             `json:"entries"`
	Lanes   map[string]Head `json:"lanes"`
	// Legacy is the legacy chain's frozen head (see legacy.go); absent from
	// checkpoints written before it was frozen, so their MACs still hold.
	Legacy *Head  `json:"legacy,omitempty"`
	MAC    string `json:"mac"`
}

func (c *Checkpoint) laneIDs() []string {
	ids := make([]string, 0, len(c.Lanes))
	for id := range c.Lanes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// mac is the HMAC of the checkpoint without its mac (JSON with sorted keys).
func (c *Checkpoint) mac(key []byte) string {
	body := *c
	body.MAC = ""
	raw, _ := json.Marshal(body)
	m := hmac.New(sha256.New, key)
	m.Write([]byte("secretumvault audit checkpoint\n"))
	m.Write(raw)
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// SameHeads reports whether two checkpoints hold the same heads.
func (c *Checkpoint) SameHeads(o *Checkpoint) bool {
	if o == nil || c.Entries != o.Entries || len(c.Lanes) != len(o.Lanes) {
		return false
	}
	if (c.Legacy == nil) != (o.Legacy == nil) || c.Legacy != nil && *c.Legacy != *o.Legacy {
		return false
	}
	for id, h := range c.Lanes {
		if o.Lanes[id] != h {
			return false
		}
	}
	return true
}

// Take reads every lane's head and signs them with legacy, the legacy
// chain's frozen head (LegacyHead); it refuses a log with a lane-less entry
// beyond it.
func Take(ctx context.Context, db *surreal.Client, key []byte, at time.Time, legacy Head) (*Checkpoint, error) {
	heads, err := surreal.Query[[]row](ctx, db,
		"SELECT lane ?? '' AS lane, math::max(seq) AS seq FROM audit_log GROUP BY lane", nil)
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint: read lanes: %w", err)
	}
	cp := &Checkpoint{Time: at.UTC().Format(time.RFC3339Nano), Lanes: map[string]Head{}, Legacy: &legacy}
	for _, h := range heads {
		if problem := beyondLegacy(legacy, h.Seq); h.Lane == "" && problem != "" {
			return nil, fmt.Errorf("audit checkpoint refused: %s", problem)
		}
	}
	if len(heads) == 0 {
		cp.MAC = cp.mac(key)
		return cp, nil
	}
	ids := make([]any, len(heads))
	for i, h := range heads {
		ids[i] = RecordID(h.Lane, h.Seq)
	}
	found, err := surreal.Query[[]row](ctx, db, "SELECT lane ?? '' AS lane, seq, hash FROM $ids", map[string]any{"ids": ids})
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint: read the lanes' heads: %w", err)
	}
	for _, r := range found {
		cp.Lanes[r.Lane] = Head{Seq: r.Seq, Hash: r.Hash}
		cp.Entries += r.Seq
	}
	for _, h := range heads {
		if cp.Lanes[h.Lane].Seq != h.Seq {
			return nil, fmt.Errorf("audit checkpoint: the head of lane %q (entry %d) is missing", h.Lane, h.Seq)
		}
	}
	cp.MAC = cp.mac(key)
	return cp, nil
}

// Parse decodes a stored checkpoint and checks its MAC with key.
func Parse(raw []byte, key []byte) (*Checkpoint, error) {
	var cp Checkpoint
	if err := json.Unmarshal(raw, &cp); err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	if cp.MAC == "" || !hmac.Equal([]byte(cp.mac(key)), []byte(cp.MAC)) {
		return nil, errors.New("audit checkpoint " + cp.Time + " is not signed with this vault's audit key")
	}
	return &cp, nil
}

// Extends names how the log no longer reaches prev's heads (a lane shorter
// than it was, or its anchored entry changed); "" if it still does. A new
// checkpoint is written only over a log that extends the last one, so that a
// truncated log is never anchored.
func Extends(ctx context.Context, db *surreal.Client, prev *Checkpoint) (string, error) {
	if prev == nil || len(prev.Lanes) == 0 {
		return "", nil
	}
	ids := prev.laneIDs()
	recs := make([]any, len(ids))
	for i, id := range ids {
		recs[i] = RecordID(id, prev.Lanes[id].Seq)
	}
	found, err := surreal.Query[[]row](ctx, db, "SELECT lane ?? '' AS lane, seq, hash FROM $ids", map[string]any{"ids": recs})
	if err != nil {
		return "", fmt.Errorf("audit checkpoint: read the last heads: %w", err)
	}
	have := map[string]string{}
	for _, r := range found {
		have[r.Lane] = r.Hash
	}
	for _, id := range ids {
		head := prev.Lanes[id]
		switch hash, ok := have[id]; {
		case !ok:
			return fmt.Sprintf("%s, anchored by the checkpoint of %s, is gone", name(id, head.Seq), prev.Time), nil
		case hash != head.Hash:
			return fmt.Sprintf("%s is not the one the checkpoint of %s holds", name(id, head.Seq), prev.Time), nil
		}
	}
	return "", nil
}
