// Package lambdaclient calls functions through the AWS Lambda Invoke API. It
// is its own package so that only the functions that invoke others link the
// AWS SDK's Lambda client (half a megabyte of every binary otherwise).
package lambdaclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
)

// Client invokes functions through the AWS Lambda Invoke API.
type Client struct {
	client *lambda.Client
	// prefix is prepended to function names (the deployed names carry a stack prefix).
	prefix string
}

// FromEnv builds the client a deployed function uses: LAMBDA_ENDPOINT
// overrides the endpoint, STRATUM_FUNCTION_PREFIX is the deployed names' prefix.
func FromEnv(ctx context.Context) (invoke.Invoker, error) {
	return New(ctx, os.Getenv("LAMBDA_ENDPOINT"), os.Getenv("STRATUM_FUNCTION_PREFIX"))
}

// New builds an Invoke API client from the default AWS configuration.
// endpoint overrides the service endpoint (the devstack, LocalStack).
// prefix is prepended to every function name.
func New(ctx context.Context, endpoint, prefix string) (*Client, error) {
	cfg, err := awscfg.Load(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	client := lambda.NewFromConfig(cfg, func(o *lambda.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return &Client{client: client, prefix: prefix}, nil
}

// Invoke calls function synchronously (RequestResponse).
func (l *Client) Invoke(ctx context.Context, function string, payload []byte) ([]byte, error) {
	out, err := l.client.Invoke(ctx, &lambda.InvokeInput{
		FunctionName:   aws.String(l.prefix + function),
		InvocationType: types.InvocationTypeRequestResponse,
		Payload:        payload,
	})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("invoke %s: %w", function, invoke.ErrFunctionNotFound)
		}
		return nil, fmt.Errorf("invoke %s: %w", function, err)
	}
	if out.FunctionError != nil {
		var body struct {
			Message string `json:"errorMessage"`
			Type    string `json:"errorType"`
		}
		_ = json.Unmarshal(out.Payload, &body)
		if body.Type == "" {
			body.Type = aws.ToString(out.FunctionError)
		}
		return nil, &invoke.FunctionError{Function: function, Type: body.Type, Message: body.Message}
	}
	return out.Payload, nil
}
