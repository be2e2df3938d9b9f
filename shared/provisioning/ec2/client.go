// Package ec2 is Provisioning's aws provider: servers are EC2 instances,
// networks a VPC with one subnet, storage an EBS volume. It speaks the EC2
// Query API (form-encoded actions, XML answers) over net/http with SigV4,
// because the SDK's ec2 client does not fit the orchestrator's binary budget
// (measured: +0.7 MB for three operations, over the 15 MB ceiling).
package ec2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// APIVersion is the EC2 API version this client speaks.
const APIVersion = "2016-11-15"

// Client calls the EC2 Query API of one region.
type Client struct {
	// Endpoint is the API's base URL (default https://ec2.<region>.amazonaws.com).
	Endpoint    string
	Region      string
	Credentials aws.CredentialsProvider
	HTTP        *http.Client
}

// APIError is an error answer of the EC2 API.
type APIError struct {
	Status    int
	Code      string
	Message   string
	RequestID string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("ec2: %s (HTTP %d, request %s): %s", e.Code, e.Status, e.RequestID, e.Message)
}

// transientCodes are client-side codes that a later attempt may not get:
// throttling and capacity, which EC2 frees over time.
var transientCodes = []string{"RequestLimitExceeded", "Throttling", "InsufficientInstanceCapacity",
	"InsufficientCapacity", "InsufficientVolumeCapacity", "InsufficientAddressCapacity",
	"InternalError", "Unavailable", "ServiceUnavailable", "IncorrectState", "DependencyViolation"}

// Transient reports whether a later attempt may succeed: server errors,
// throttling and missing capacity. Anything else (InvalidParameterValue,
// MissingParameter, AuthFailure…) fails the same way every time.
func (e *APIError) Transient() bool {
	return e.Status >= 500 || slices.Contains(transientCodes, e.Code)
}

// Code is err's EC2 error code, "" when err is not an API error.
func Code(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// Call runs action with params and decodes the XML answer into out (nil to
// ignore it).
func (c *Client) Call(ctx context.Context, action string, params url.Values, out any) error {
	if params == nil {
		params = url.Values{}
	}
	params.Set("Action", action)
	params.Set("Version", APIVersion)
	body := params.Encode()
	endpoint := c.Endpoint
	if endpoint == "" {
		endpoint = "https://ec2." + c.Region + ".amazonaws.com"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(endpoint, "/")+"/", strings.NewReader(body))
	if err != nil {
		return fmt.Errorf("ec2 %s: %w", action, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	creds, err := c.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("ec2 %s: aws credentials: %w", action, err)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ec2", c.Region, time.Now()); err != nil {
		return fmt.Errorf("ec2 %s: sign: %w", action, err)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("ec2 %s: %w", action, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("ec2 %s: read answer: %w", action, err)
	}
	if res.StatusCode != http.StatusOK {
		return decodeError(res.StatusCode, raw)
	}
	if out == nil {
		return nil
	}
	if err := xml.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("ec2 %s: not an EC2 answer: %w", action, err)
	}
	return nil
}

// decodeError reads EC2's <Response><Errors><Error><Code>…</Code>
// <Message>…</Message></Error></Errors><RequestID>…</RequestID></Response>.
func decodeError(status int, raw []byte) error {
	var v struct {
		Errors []struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
		} `xml:"Errors>Error"`
		RequestID string `xml:"RequestID"`
	}
	if err := xml.Unmarshal(raw, &v); err != nil || len(v.Errors) == 0 {
		return &APIError{Status: status, Code: "HTTP" + strconv.Itoa(status), Message: string(bytes.TrimSpace(raw[:min(len(raw), 200)]))}
	}
	return &APIError{Status: status, Code: v.Errors[0].Code, Message: v.Errors[0].Message, RequestID: v.RequestID}
}

// list adds prefix.1, prefix.2… for values.
func list(p url.Values, prefix string, values ...string) {
	for i, v := range values {
		p.Set(prefix+"."+strconv.Itoa(i+1), v)
	}
}

// filter adds Filter.n.Name and its values.
func filter(p url.Values, n int, name string, values ...string) {
	f := "Filter." + strconv.Itoa(n)
	p.Set(f+".Name", name)
	list(p, f+".Value", values...)
}

// tags adds TagSpecification.1 for resourceType with tags.
func tags(p url.Values, resourceType string, tags map[string]string) {
	p.Set("TagSpecification.1.ResourceType", resourceType)
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		t := "TagSpecification.1.Tag." + strconv.Itoa(i+1)
		p.Set(t+".Key", k)
		p.Set(t+".Value", tags[k])
	}
}
