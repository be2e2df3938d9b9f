package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// PayloadSize is the growth of a Lambda response event when v is its body.
func TestPayloadSizeIsWhatTheEventCarries(t *testing.T) {
	empty, _ := json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: 200})
	for _, v := range []any{"plain", `"quoted" \ back<slash> & é` + "\n\u2028", map[string]any{"a": []any{1, "x\ty"}}} {
		body, _ := json.Marshal(v)
		full, _ := json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: string(body)})
		if got, want := PayloadSize(v), len(full)-len(empty); got != want {
			t.Fatalf("%q: %d, the event grew by %d", body, got, want)
		}
	}
}

type boundInner struct {
	Name string `json:"name"`
}

type boundOuter struct {
	boundInner
	Text    string          `json:"text"`
	Ptr     *string         `json:"ptr,omitempty"`
	When    time.Time       `json:"when"`
	Raw     json.RawMessage `json:"raw"`
	Tags    []string        `json:"tags"`
	Meta    map[string]any  `json:"meta"`
	Score   float64         `json:"score"`
	Counts  map[string]int  `json:"counts"`
	Nested  []boundInner    `json:"nested"`
	private string
}

// PayloadBound is never below PayloadSize, whatever the text holds
// (quotes, backslashes, control characters, <>&, invalid UTF-8, other
// scripts) and however the value nests, embeds or encodes itself.
func TestPayloadBoundIsAnUpperBound(t *testing.T) {
	texts := []string{"", "plain words", `"quoted" \\ back`, "\x00\x01\x1f tabs\t\n", "<a href='x'>&amp;</a>", "\xff\xfe bad utf-8",
		"東京データセンター", strings.Repeat(`"`, 1000), strings.Repeat("\x01", 1000)}
	for i, text := range texts {
		meta := map[string]any{text: text, "n": -1.5e300, "list": []any{text, true, nil, map[string]any{text: []any{text}}}}
		v := boundOuter{boundInner: boundInner{Name: text}, Text: text, Ptr: &text, When: time.Now(), Raw: json.RawMessage(`{"a":"\"x\""}`),
			Tags: []string{text, "t"}, Meta: meta, Score: 1e-300, Counts: map[string]int{text: -123456789}, Nested: []boundInner{{text}}, private: text}
		for _, x := range []any{v, &v, []boundOuter{v, v}, text, meta, nil, []any{v, text}} {
			if b, p := PayloadBound(x), PayloadSize(x); b < p {
				t.Errorf("text %d, %T: bound %d below the payload %d", i, x, b, p)
			}
		}
	}
}
