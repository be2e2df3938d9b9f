// Package awscfg builds the AWS SDK configuration every function uses, the
// same way against AWS and against local stand-ins (the devstack, LocalStack,
// local-kms).
//
// A function needs less than the SDK's default chain: Lambda hands it
// credentials in the environment and Fargate through the container
// credentials endpoint, and the region is in AWS_REGION. Load reads exactly
// those, so a bootstrap does not link the shared-config files, SSO, STS and
// IMDS (about 1 MB of every binary). A person's CLI, which may want a profile
// or SSO, opts in to the SDK's whole chain with UseChain (package
// awscfg/chain).
package awscfg

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// DefaultRegion is the region when the environment names none.
const DefaultRegion = "us-east-1"

// Loader makes a configuration; endpoint is the override the caller will set
// on its client ("" for AWS itself).
type Loader func(ctx context.Context, endpoint string) (aws.Config, error)

var chain Loader

// UseChain makes Load use load (the SDK's default chain, with profiles and
// SSO) instead of the environment and container credentials. Only a
// long-lived program a person runs calls it, once, before any Load.
func UseChain(load Loader) { chain = load }

// Load returns the SDK configuration; endpoint is the override the caller
// will set on its client ("" for AWS itself). Credentials come from, in
// order: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (/AWS_SESSION_TOKEN), the
// container credentials endpoint (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
// _FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN or _TOKEN_FILE), and for
// a local endpoint static "local" keys. AWS_ENDPOINT_URL is the default
// endpoint of every client.
func Load(ctx context.Context, endpoint string) (aws.Config, error) {
	if chain != nil {
		return chain(ctx, endpoint)
	}
	cfg := aws.Config{Region: Region()}
	if u := os.Getenv("AWS_ENDPOINT_URL"); u != "" {
		cfg.BaseEndpoint = aws.String(u)
	}
	creds, err := credentialsFromEnv()
	if err != nil {
		return aws.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	if creds == nil && endpoint != "" {
		creds = credentials.NewStaticCredentialsProvider("local", "local", "")
	}
	if creds == nil {
		// As the SDK does: a client without credentials fails on its first request.
		creds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{}, errNoCredentials
		})
	}
	cfg.Credentials = aws.NewCredentialsCache(creds)
	return cfg, nil
}

// Region is AWS_REGION, else AWS_DEFAULT_REGION, else DefaultRegion.
func Region() string {
	for _, v := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if r := os.Getenv(v); r != "" {
			return r
		}
	}
	return DefaultRegion
}

var errNoCredentials = errors.New("no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, " +
	"run where the container credentials endpoint is (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI), or use the CLI's profiles")

// containerHost is where ECS and Fargate serve a task's credentials.
const containerHost = "http://169.254.170.2"

func credentialsFromEnv() (aws.CredentialsProvider, error) {
	id, secret := os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
	switch {
	case id != "" && secret != "":
		return credentials.NewStaticCredentialsProvider(id, secret, os.Getenv("AWS_SESSION_TOKEN")), nil
	case id != "" || secret != "":
		return nil, fmt.Errorf("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together")
	}
	endpoint := os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	if rel := os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); rel != "" {
		endpoint = containerHost + rel
	} else if endpoint != "" {
		if err := checkFullURI(endpoint); err != nil {
			return nil, err
		}
	}
	if endpoint == "" {
		return nil, nil
	}
	return &containerCredentials{endpoint: endpoint}, nil
}

// checkFullURI accepts what the SDK accepts for a full container credentials
// URI: HTTPS anywhere, plain HTTP only to a loopback or the ECS/EKS hosts.
func checkFullURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI %q: %w", raw, err)
	}
	if u.Scheme == "https" {
		return nil
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1", "169.254.170.2", "169.254.170.23", "fd00:ec2::23":
		if u.Scheme == "http" {
			return nil
		}
	}
	return fmt.Errorf("AWS_CONTAINER_CREDENTIALS_FULL_URI %q: want https, or http to a loopback or the container credentials host", raw)
}
