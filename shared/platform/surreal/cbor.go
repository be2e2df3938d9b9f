package surreal

import (
	"fmt"

	"github.com/surrealdb/surrealdb.go/surrealcbor"
)

// MarshalCBOR encodes v as the SurrealDB RPC does (record ids, datetimes,
// bytes and NONE keep their SurrealDB tags), so that a record read with Query
// and encoded here decodes back into the same SurrealDB values.
func MarshalCBOR(v any) ([]byte, error) {
	b, err := surrealcbor.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode cbor: %w", err)
	}
	return b, nil
}

// UnmarshalCBOR decodes what MarshalCBOR (or SurrealDB) encoded.
func UnmarshalCBOR(data []byte, v any) error {
	if err := surrealcbor.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode cbor: %w", err)
	}
	return nil
}
