package surreal_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// CBOR from outside is checked before it is decoded: what SurrealDB writes
// passes; deep nesting and lengths larger than the input are refused.
func TestUntrustedCBOR(t *testing.T) {
	rec := []map[string]any{{"id": models.NewRecordID("entries", "a/b"), "blob": []byte{1, 2, 3},
		"at": models.CustomDateTime{Time: time.Unix(1, 0).UTC()}, "tags": []any{"x", map[string]any{"k": 1.5}}}}
	raw, err := surreal.MarshalCBOR(rec)
	if err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := surreal.UnmarshalUntrustedCBOR(raw, &back); err != nil || len(back) != 1 {
		t.Fatalf("a record as SurrealDB writes it: %v %v", back, err)
	}
	deep := append(bytes.Repeat([]byte{0x81}, 100_000), 0x00)
	if err := surreal.UnmarshalUntrustedCBOR(deep, &back); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Fatalf("arrays nested 100 000 deep: %v", err)
	}
	huge := []byte{0x9a, 0x00, 0x0f, 0x42, 0x40, 0x00} // an array of 1 000 000 items holding one
	if err := surreal.UnmarshalUntrustedCBOR(huge, &back); err == nil || !strings.Contains(err.Error(), "declared") {
		t.Fatalf("a million items declared in six bytes: %v", err)
	}
	if err := surreal.UnmarshalUntrustedCBOR(raw[:len(raw)-2], &back); err == nil {
		t.Fatal("a truncated page decoded")
	}
}
