package surreal

import (
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"github.com/surrealdb/surrealdb.go/surrealcbor"
)

// RawCBOR, as a field of what Query decodes, keeps that value encoded, to
// decode later with UnmarshalCBOR, or not at all (a change feed's reader
// skips the change sets it read before without decoding them).
type RawCBOR = cbor.RawMessage

// MarshalCBOR encodes v as the SurrealDB RPC does (record ids, datetimes,
// bytes and NONE keep their SurrealDB tags), so that a record read with Query
// and encoded here decodes back into the same SurrealDB values.
func MarshalCBOR(v any) ([]byte, error) {
	b, err := codec{}.Marshal(v)
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

// maxCBORDepth bounds the nesting of CBOR from outside: the decoder recurses
// once per level, and arrays nested millions deep would overflow the stack.
const maxCBORDepth = 64

// UnmarshalUntrustedCBOR decodes CBOR that came from outside (a snapshot
// file) after checking that it nests at most maxCBORDepth deep and declares
// no more items or bytes than it holds, so that it can neither overflow the
// decoder's stack nor make it allocate for items that are not there.
func UnmarshalUntrustedCBOR(data []byte, v any) error {
	if err := checkCBOR(data); err != nil {
		return fmt.Errorf("decode cbor: %w", err)
	}
	return UnmarshalCBOR(data, v)
}

// checkCBOR walks data's item headers without decoding them.
func checkCBOR(data []byte) error {
	pending := []int64{1} // items still due at each open level; -1: until a break
	for i := 0; len(pending) > 0; {
		if top := len(pending) - 1; pending[top] == 0 {
			pending = pending[:top]
			continue
		}
		if i >= len(data) {
			return fmt.Errorf("truncated at byte %d", i)
		}
		major, info := data[i]>>5, data[i]&0x1f
		if data[i] == 0xff && pending[len(pending)-1] == -1 { // break of an indefinite item
			pending, i = pending[:len(pending)-1], i+1
			continue
		}
		arg, n, err := cborArg(data, i, info)
		if err != nil {
			return err
		}
		i += n
		if pending[len(pending)-1] > 0 {
			pending[len(pending)-1]--
		}
		children := int64(0)
		switch {
		case major == 2 || major == 3:
			if info == 31 {
				children = -1
			} else if arg > uint64(len(data)-i) {
				return fmt.Errorf("a string of %d bytes at byte %d is longer than what remains", arg, i)
			} else {
				i += int(arg)
			}
		case major == 4 || major == 5:
			children = -1
			if info != 31 {
				per := uint64(1) + uint64(major-4) // a map's entry is two items
				if arg > uint64(len(data)-i)/per {
					return fmt.Errorf("%d items declared at byte %d, more than the bytes left", arg, i)
				}
				children = int64(arg * per)
			}
		case major == 6:
			children = 1
		}
		if children != 0 {
			if len(pending) > maxCBORDepth {
				return fmt.Errorf("nested more than %d deep", maxCBORDepth)
			}
			pending = append(pending, children)
		}
	}
	return nil
}

// cborArg reads an item header's argument: its value and the header's size.
func cborArg(data []byte, i int, info byte) (uint64, int, error) {
	if info < 24 || info == 31 {
		return uint64(info), 1, nil
	}
	if info > 27 {
		return 0, 0, fmt.Errorf("malformed item header at byte %d", i)
	}
	size := 1 << (info - 24) // 24..27: 1, 2, 4 or 8 bytes
	if i+1+size > len(data) {
		return 0, 0, fmt.Errorf("truncated at byte %d", i)
	}
	var v uint64
	for _, b := range data[i+1 : i+1+size] {
		v = v<<8 | uint64(b)
	}
	return v, 1 + size, nil
}
