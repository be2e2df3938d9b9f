package invoke

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
)

// maxPayload is Lambda's limit for a synchronous invocation request (6 MB).
const maxPayload = 6 * 1024 * 1024

// APIHandler serves the Lambda Invoke API (POST /2015-03-31/functions/{name}/invocations)
// over inv, so that the AWS SDK's Lambda client works against the devstack.
// Function errors answer 200 with X-Amz-Function-Error as Lambda does.
//
// It takes only requests that an AWS SDK sends to a local endpoint: signed
// (Authorization: AWS4-HMAC-SHA256 …, which the SDK always sends and a web
// page cannot send cross-origin without a preflight this server never
// grants) and addressed to a loopback Host (so a DNS-rebinding page cannot
// reach it either). The signature itself is not checked: the devstack has
// no credentials to check it against.
func APIHandler(inv Invoker, region, account string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			awsError(w, http.StatusForbidden, "MissingAuthenticationTokenException",
				"missing Authorization: AWS4-HMAC-SHA256 … (call the Invoke API with an AWS SDK)")
			return
		}
		if !LoopbackHost(r.Host) {
			awsError(w, http.StatusForbidden, "AccessDeniedException",
				fmt.Sprintf("Host %q: the local Invoke API answers only requests to a loopback address", r.Host))
			return
		}
		name := r.PathValue("name")
		if t := r.Header.Get("X-Amz-Invocation-Type"); t != "" && t != "RequestResponse" {
			awsError(w, http.StatusBadRequest, "InvalidParameterValueException",
				fmt.Sprintf("invocation type %q is not supported here; use RequestResponse", t))
			return
		}
		payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
		if err != nil {
			awsError(w, http.StatusRequestEntityTooLarge, "RequestTooLargeException", "request payload exceeds 6291456 bytes")
			return
		}
		if len(payload) == 0 {
			payload = []byte("{}")
		}
		if !json.Valid(payload) {
			awsError(w, http.StatusBadRequest, "InvalidRequestContentException", "could not parse request body into json")
			return
		}
		out, err := inv.Invoke(r.Context(), name, payload)
		var fe *FunctionError
		switch {
		case errors.As(err, &fe):
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusOK)
			_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": fe.Message, "errorType": fe.Type})
		case errors.Is(err, ErrFunctionNotFound):
			awsError(w, http.StatusNotFound, "ResourceNotFoundException",
				fmt.Sprintf("Function not found: arn:aws:lambda:%s:%s:function:%s", region, account, name))
		case err != nil:
			awsError(w, http.StatusBadGateway, "ServiceException", err.Error())
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Amz-Executed-Version", "$LATEST")
			_, _ = w.Write(out)
		}
	})
	return mux
}

// LoopbackHost reports whether host (a Host header or a bind address,
// with or without a port) names this machine only: localhost, 127.0.0.0/8 or ::1.
func LoopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func awsError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"Type": "User", "message": msg})
}
