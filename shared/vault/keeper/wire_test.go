package keeper

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// The spliced encodings decode to what json.Marshal's would, whatever the
// raw JSON holds (whitespace, nesting, strings with quotes and braces).
func TestSplicedEncodingsDecodeAsMarshal(t *testing.T) {
	raws := []string{`{}`, `{"plaintext":"YQ=="}`, " {\n \"a\" : [1, {\"b\":\"}\\\"\"}] }\n", `[1,2]`, `"s"`, `null`}
	for _, raw := range raws {
		req := Request{Op: "engine", Generation: 3, Engine: &EngineRequest{Engine: "transit", MountUUID: "u", Operation: "update",
			Path: "encrypt/k", Body: json.RawMessage(raw), Granted: []string{"create"}, MaxLeaseTTL: 60}}
		got, err := encodeRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		var back Request
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("request with body %q: %v: %s", raw, err, got)
		}
		if string(back.Engine.Body) != strings.TrimSpace(raw) {
			t.Fatalf("body %q came back as %q", raw, back.Engine.Body)
		}
		back.Engine.Body, req.Engine.Body = nil, nil
		if !reflect.DeepEqual(back, req) {
			t.Fatalf("request: got %+v, want %+v", back, req)
		}

		answer := &EngineResponse{Status: 200, Data: json.RawMessage(raw), Warnings: []string{`"data":null}`}, LeaseID: "l"}
		got, err = encodeEngineAnswer(answer)
		if err != nil {
			t.Fatal(err)
		}
		var res Response
		if err := json.Unmarshal(got, &res); err != nil || res.Engine == nil {
			t.Fatalf("answer with data %q: %v: %s", raw, err, got)
		}
		if string(res.Engine.Data) != strings.TrimSpace(raw) || res.Engine.Status != 200 || res.Engine.LeaseID != "l" || res.Engine.Warnings[0] != answer.Warnings[0] {
			t.Fatalf("answer: got %+v from %s", res.Engine, got)
		}
	}
}

// A request without a body, and an answer without data, are json.Marshal's.
func TestSplicedEncodingsWithoutRawJSON(t *testing.T) {
	req := Request{Op: "engine", Engine: &EngineRequest{Engine: "pki", Path: "ca/pem"}}
	got, _ := encodeRequest(req)
	want, _ := json.Marshal(req)
	if string(got) != string(want) {
		t.Fatalf("request: %s, want %s", got, want)
	}
	got, _ = encodeEngineAnswer(&EngineResponse{Status: 204})
	want, _ = json.Marshal(Response{Engine: &EngineResponse{Status: 204}})
	if string(got) != string(want) {
		t.Fatalf("answer: %s, want %s", got, want)
	}
}
