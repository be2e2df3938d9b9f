package llm

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/vapora/llm/llmtest"
)

// Every provider kind against a local server that speaks its wire format:
// the reply is read, and each failure is classified for the attempt record.
func TestWireFormats(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "eu-west-1")
	msgs := []Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}, {Role: "assistant", Content: "hello"},
		{Role: "user", Content: "do it"}}
	keys := map[string]string{KindAnthropic: "sk-ant", KindOpenAI: "sk-oa", KindGemini: "g-key", KindOllama: "", KindBedrock: ""}
	c := NewCaller()
	for _, kind := range append(Kinds, "bedrock-apikey") {
		t.Run(kind, func(t *testing.T) {
			k, key := kind, keys[kind]
			if kind == "bedrock-apikey" {
				k, key = KindBedrock, "bedrock-api-key"
			}
			srv := llmtest.New(k, key)
			defer srv.Close()
			p := Provider{Name: kind, Kind: k, BaseURL: srv.URL, TimeoutMs: 300}
			req := Request{Model: "m-1", Messages: msgs, MaxTokens: 100}
			rep, err := c.Call(context.Background(), p, key, req)
			if err != nil || rep.Output != "done by "+k || rep.InputTokens != 1000 || rep.OutputTokens != 500 {
				t.Fatalf("ok reply: %+v, %v (server saw: %v)", rep, err, srv.Bad())
			}
			for mode, want := range map[string]CallError{
				llmtest.RateLimit:  {Outcome: "rate_limited", HTTPStatus: 429, RetryAfter: "7"},
				llmtest.ServerErr:  {Outcome: "http_error", HTTPStatus: 500},
				llmtest.BadRequest: {Outcome: "http_error", HTTPStatus: 400},
				llmtest.Slow:       {Outcome: "timeout"},
				llmtest.Malformed:  {Outcome: "malformed"},
				llmtest.WrongShape: {Outcome: "malformed"},
			} {
				srv.SetMode(mode)
				_, err := c.Call(context.Background(), p, key, req)
				var ce *CallError
				if !errors.As(err, &ce) || ce.Outcome != want.Outcome || ce.HTTPStatus != want.HTTPStatus || ce.RetryAfter != want.RetryAfter {
					t.Errorf("%s: %v, want %+v", mode, err, want)
				}
				if want.HTTPStatus != 0 && (ce == nil || len(ce.Msg) < 5) {
					t.Errorf("%s: the provider's error message is lost: %v", mode, err)
				}
			}
			if bad := srv.Bad(); len(bad) > 0 {
				t.Errorf("requests the real API would refuse: %v", bad)
			}
		})
	}
}

// A provider that does not answer within its timeout is a timeout, in about that time.
func TestCallTimeoutIsBounded(t *testing.T) {
	srv := llmtest.New(KindOpenAI, "k")
	defer srv.Close()
	srv.SetMode(llmtest.Slow)
	start := time.Now()
	_, err := NewCaller().Call(context.Background(), Provider{Name: "o", Kind: KindOpenAI, BaseURL: srv.URL, TimeoutMs: 100}, "k",
		Request{Model: "m", Messages: []Message{{Role: "user", Content: "x"}}, MaxTokens: 1})
	var ce *CallError
	if !errors.As(err, &ce) || ce.Outcome != "timeout" || time.Since(start) > time.Second {
		t.Fatalf("%v after %v", err, time.Since(start))
	}
}
