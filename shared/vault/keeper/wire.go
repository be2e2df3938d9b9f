package keeper

import (
	"encoding/json"
	"fmt"
)

// The request and the answer of an engine carry JSON already made or
// checked by this process (a request body the API checked, an engine's
// encoded answer). encoding/json validates and compacts an embedded
// json.RawMessage again each time it encodes one, a scan of every byte:
// on the way from a transit engine to the caller an ML-KEM or X-Wing
// ciphertext (1.5 KB) was scanned that way three times, a tenth of the
// request's CPU. These encoders splice the raw JSON in as it is.

// appendRawMember adds the member name: raw to the JSON object obj, as
// json.Marshal made it. raw must be valid JSON; whitespace inside it is
// kept (JSON allows it).
func appendRawMember(obj []byte, name string, raw []byte) []byte {
	if len(obj) < 2 || obj[len(obj)-1] != '}' {
		panic(fmt.Sprintf("keeper: appendRawMember on %q, not a JSON object", obj))
	}
	out := make([]byte, 0, len(obj)+len(name)+len(raw)+4)
	out = append(out, obj[:len(obj)-1]...)
	if len(obj) > 2 {
		out = append(out, ',')
	}
	out = append(out, '"')
	out = append(out, name...)
	out = append(out, '"', ':')
	out = append(out, raw...)
	return append(out, '}')
}

// encodeRequest is json.Marshal(req) with an engine request's body spliced in.
func encodeRequest(req Request) ([]byte, error) {
	if req.Engine == nil || len(req.Engine.Body) == 0 {
		return json.Marshal(req)
	}
	engine := *req.Engine
	body := engine.Body
	engine.Body = nil
	inner, err := json.Marshal(engine)
	if err != nil {
		return nil, err
	}
	req.Engine = nil
	outer, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return appendRawMember(outer, "engine", appendRawMember(inner, "body", body)), nil
}

// encodeEngineAnswer is json.Marshal(Response{Engine: res}) with the
// answer's data spliced in.
func encodeEngineAnswer(res *EngineResponse) ([]byte, error) {
	answer := *res
	data := answer.Data
	answer.Data = nil
	inner, err := json.Marshal(answer)
	if err != nil {
		return nil, err
	}
	if len(data) > 0 {
		inner = appendRawMember(inner, "data", data)
	}
	return appendRawMember([]byte("{}"), "engine", inner), nil
}
