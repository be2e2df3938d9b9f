package httpapi

import (
	"encoding/json"
	"testing"

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
