// Package lambdaclient calls functions through the AWS Lambda Invoke API. It
// is its own package so that only the functions that invoke others link it.
//
// It sends the Invoke request itself (a SigV4-signed POST to
// /2015-03-31/functions/{name}/invocations, through awscfg.Service) rather
// than through the SDK's Lambda client, whose generated pipeline for the
// whole Lambda API is half a megabyte of each bootstrap that invokes; the
// invoke package's tests hold it and the SDK's client to the same answers.
package lambdaclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// Client invokes functions through the AWS Lambda Invoke API.
type Client struct {
	lambda *awscfg.Service
	// prefix is prepended to function names (the deployed names carry a stack prefix).
	prefix string
}

// FromEnv builds the client a deployed function uses: LAMBDA_ENDPOINT
// overrides the endpoint, STRATUM_FUNCTION_PREFIX is the deployed names' prefix.
func FromEnv(ctx context.Context) (invoke.Invoker, error) {
	return New(ctx, os.Getenv("LAMBDA_ENDPOINT"), os.Getenv("STRATUM_FUNCTION_PREFIX"))
}

// New builds an Invoke API client from the AWS configuration (awscfg).
// endpoint overrides the service endpoint (the devstack, LocalStack); else
// AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL or the region's.
// prefix is prepended to every function name.
func New(ctx context.Context, endpoint, prefix string) (*Client, error) {
	cfg, err := awscfg.Load(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	svc := &awscfg.Service{Signing: "lambda", EnvName: "LAMBDA", Config: cfg, Endpoint: endpoint}
	return &Client{lambda: svc, prefix: prefix}, nil
}

// Invoke calls function synchronously (RequestResponse).
func (l *Client) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	path := "/2015-03-31/functions/" + url.PathEscape(l.prefix+function) + "/invocations"
	header := http.Header{"X-Amz-Invocation-Type": {"RequestResponse"}}
	h, out, err := l.lambda.Do(ctx, http.MethodPost, path, header, payload)
	if err != nil {
		var api *awscfg.APIError
		if errors.As(err, &api) && api.Code == "ResourceNotFoundException" {
			return nil, fmt.Errorf("invoke %s: %w", function, invoke.ErrFunctionNotFound)
		}
		return nil, fmt.Errorf("invoke %s: %w", function, err)
	}
	if fe := h.Get("X-Amz-Function-Error"); fe != "" {
		var body struct {
			Message string `json:"errorMessage"`
			Type    string `json:"errorType"`
		}
		_ = json.Unmarshal(out, &body)
		if body.Type == "" {
			body.Type = fe
		}
		return nil, &invoke.FunctionError{Function: function, Type: body.Type, Message: body.Message}
	}
	return out, nil
}
