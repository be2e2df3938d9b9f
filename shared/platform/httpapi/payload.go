package httpapi

import (
	"bytes"
	"encoding/json"
)

// LambdaMaxResponse is Lambda's synchronous response payload limit ("6 MB"):
// the figure its Function.ResponseSizeTooLarge error names, 6 MiB plus 100
// bytes. API Gateway answers a larger response with a 500.
const LambdaMaxResponse = 6291556

// PayloadSize is what v, answered as JSON, adds to a Lambda response
// payload: its JSON, which the API Gateway response carries as its body
// string, so escaped once more (a quote or a backslash takes a byte more).
func PayloadSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b) + bytes.Count(b, []byte{'"'}) + bytes.Count(b, []byte{'\\'})
}
