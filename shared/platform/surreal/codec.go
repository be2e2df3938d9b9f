package surreal

import (
	"sync"

	"github.com/surrealdb/surrealdb.go/surrealcbor"
)

// codec is the SDK's surrealcbor codec without its per-call set-up:
// surrealcbor.Codec.Marshal builds a new encoding mode (a tag set of 18
// SurrealDB types) on every call, and surrealcbor.Codec.Unmarshal a new
// struct field cache (so each reply's structs are looked over again by
// reflection); together about a third of the CPU a query costs its client.
// Marshal encodes through pooled surrealcbor Encoders (an Encoder keeps its
// mode and writes to its own writer), Unmarshal is surrealcbor.Unmarshal
// (the package's shared field cache). The bytes and values are the SDK's.
type codec struct{}

// capture is an Encoder's writer: it keeps the bytes the Encoder wrote
// (encoded afresh by each call, so the caller may own them).
type capture struct{ data []byte }

func (c *capture) Write(p []byte) (int, error) {
	c.data = p
	return len(p), nil
}

type pooledEncoder struct {
	out *capture
	enc *surrealcbor.Encoder
}

var encoders = sync.Pool{New: func() any {
	out := &capture{}
	return &pooledEncoder{out: out, enc: surrealcbor.NewEncoder(out)}
}}

// Marshal encodes v as surrealcbor.Marshal does.
func (codec) Marshal(v any) ([]byte, error) {
	e := encoders.Get().(*pooledEncoder)
	defer encoders.Put(e)
	e.out.data = nil
	if err := e.enc.Encode(v); err != nil {
		return nil, err
	}
	data := e.out.data
	e.out.data = nil
	return data, nil
}

// Unmarshal decodes data as surrealcbor.Codec.Unmarshal does (maps into
// map[string]any), with the package's shared struct field cache.
func (codec) Unmarshal(data []byte, v any) error { return surrealcbor.Unmarshal(data, v) }
