package devstack

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// responseTooLarge is the error type Lambda reports for such an answer.
const responseTooLarge = "Function.ResponseSizeTooLarge"

// integrationFailed answers as an API Gateway HTTP API does when its Lambda
// integration fails: 500 with {"message":"Internal Server Error"}.
func integrationFailed(w http.ResponseWriter) {
	httpapi.WriteJSON(w, http.StatusInternalServerError, map[string]string{"message": "Internal Server Error"})
}

// oversized reports (and logs, as Lambda and the gateway would) a function
// answer whose payload is over Lambda's limit.
func oversized(log *slog.Logger, function string, size int) bool {
	if size <= httpapi.LambdaMaxResponse {
		return false
	}
	log.Error("integration failed", "function", function, "errorType", responseTooLarge,
		"err", "response payload size exceeded maximum allowed payload size",
		"size", size, "limit", httpapi.LambdaMaxResponse)
	return true
}

// lambdaSized runs an in-process HTTP function as Lambda would answer it: the
// response becomes its payload v2 event, and one over Lambda's response limit
// reaches the client as the gateway's 500, not as the function's answer.
func lambdaSized(name string, h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		res, err := httpapi.ResponseToEvent(rec.Result())
		var payload []byte
		if err == nil {
			payload, err = json.Marshal(res)
		}
		if err != nil {
			log.Error("integration failed", "function", name, "err", err)
			integrationFailed(w)
			return
		}
		if oversized(log, name, len(payload)) {
			integrationFailed(w)
			return
		}
		if err := httpapi.WriteEvent(w, res); err != nil {
			log.Error("write response", "function", name, "err", err)
		}
	})
}
