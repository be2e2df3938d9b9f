package llm

import (
	"errors"
	"testing"
)

// A provider's reply is outside input: whatever its bytes, each wire format
// reads it or says it is malformed, never panics.
func FuzzReplies(f *testing.F) {
	for _, seed := range []string{
		`{"type":"message","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":1,"output_tokens":2}}`,
		`{"choices":[{"message":{"content":"hi"}}],"usage":{"prompt_tokens":1,"completion_tokens":2}}`,
		`{"candidates":[{"content":{"parts":[{"text":"hi"}]}}],"usageMetadata":{"promptTokenCount":1}}`,
		`{"message":{"content":"hi"},"done":true,"prompt_eval_count":1,"eval_count":2}`,
		`{"output":{"message":{"role":"assistant","content":[{"text":"hi"}]}},"usage":{"inputTokens":1,"outputTokens":2}}`,
		`{"choices":[{"message":null}]}`, `{"candidates":[{}]}`, `[]`, `null`, `<html>`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for kind, w := range wires {
			_, err := w.reply(body)
			var ce *CallError
			if err != nil && (!errors.As(err, &ce) || ce.Outcome != "malformed") {
				t.Fatalf("%s: %v is not a malformed-reply error", kind, err)
			}
			_ = w.errorMessage(body)
		}
	})
}
