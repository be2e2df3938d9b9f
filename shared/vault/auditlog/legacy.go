package auditlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// The legacy chain is the entries written before lanes: one chain with no
// lane, linked by unkeyed SHA-256, so whoever can write the database could
// extend it (or start one) with links anyone can compute. It is frozen: every
// checkpoint carries its final head (Checkpoint.Legacy, under the checkpoint's
// MAC and kept outside the database), and a lane-less entry beyond that head
// neither verifies nor is anchored. A vault that never had a legacy chain
// freezes it empty (Seq 0) and refuses any lane-less entry.
//
// The head is taken, in order of trust: from the latest checkpoint that
// carries it; else from the latest checkpoint written before freezing
// existed (its lane "" head, or none if it had no lane ""); else, on a vault
// that was never checkpointed, from the database as it is (the first
// checkpoint then records it: trusted on first use, as the log itself).

// legacyLink is the unkeyed link of the entries written before lanes (one
// chain, no lane): SHA-256 of the previous hash and the entry.
func legacyLink(prev, entry string) string {
	h := sha256.New()
	h.Write([]byte(prev))
	h.Write([]byte(entry))
	return hex.EncodeToString(h.Sum(nil))
}

// noLegacy is the frozen head of a vault without a legacy chain.
var noLegacy = Head{Seq: 0, Hash: Genesis}

// LegacyHead is the legacy chain's frozen head given the latest checkpoint
// (nil: none yet).
func LegacyHead(ctx context.Context, db *surreal.Client, cp *Checkpoint) (Head, error) {
	switch {
	case cp != nil && cp.Legacy != nil:
		return *cp.Legacy, nil
	case cp != nil:
		if h, ok := cp.Lanes[""]; ok {
			return h, nil
		}
		return noLegacy, nil
	}
	heads, err := surreal.Query[[]row](ctx, db,
		"SELECT seq, hash FROM audit_log WHERE lane = NONE ORDER BY seq DESC LIMIT 1", nil)
	if err != nil {
		return Head{}, fmt.Errorf("audit log: read the legacy chain's head: %w", err)
	}
	if len(heads) == 0 {
		return noLegacy, nil
	}
	return Head{Seq: heads[0].Seq, Hash: heads[0].Hash}, nil
}

// beyondLegacy names a lane-less entry past the frozen head; "" if none.
func beyondLegacy(frozen Head, seq int) string {
	if seq <= frozen.Seq {
		return ""
	}
	if frozen.Seq == 0 {
		return fmt.Sprintf("%s has no lane, and this vault has no legacy chain: lane-less entries were written outside the vault", name("", seq))
	}
	return fmt.Sprintf("%s has no lane, beyond the legacy chain's frozen end (entry %d): written outside the vault", name("", seq), frozen.Seq)
}
