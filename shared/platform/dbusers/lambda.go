package dbusers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// Environment of the surreal-users Lambda (set by infra/stacks).
const (
	EnvURL        = "SURREAL_URL"
	EnvRootSecret = "SURREAL_ROOT_SECRET_ARN"
	// EnvUsers lists the users as "function=database,…" and EnvUserSecrets
	// is the name prefix of their secrets (the function's name completes
	// it): Lambda allows 4 KB of environment in all, which a JSON list
	// with every secret's ARN passes (29 users: about 5.6 KB).
	EnvUsers       = "SURREAL_USERS"
	EnvUserSecrets = "SURREAL_USER_SECRETS"
)

// EncodeUsers writes users for EnvUsers; each user's secret must be named
// EnvUserSecrets' prefix + its function.
func EncodeUsers(users []User) string {
	parts := make([]string, len(users))
	for i, u := range users {
		parts[i] = u.Function + "=" + u.Database
	}
	return strings.Join(parts, ",")
}

// DecodeUsers reads EnvUsers: each function's user is named by the
// catalog's rule and its secret is secretPrefix + the function.
func DecodeUsers(list, secretPrefix string) ([]User, error) {
	var users []User
	for _, part := range strings.Split(list, ",") {
		if part == "" {
			continue
		}
		fn, db, ok := strings.Cut(part, "=")
		if !ok || fn == "" || db == "" {
			return nil, fmt.Errorf("%s: %q is not function=database", EnvUsers, part)
		}
		users = append(users, User{Function: fn, User: catalog.Function{Name: fn, Database: db}.SurrealUser(),
			Database: db, SecretArn: secretPrefix + fn})
	}
	return users, nil
}

// PhysicalID names the custom resource: one per deployment.
const PhysicalID = "surreal-users"

// Result is the answer to a direct invocation.
type Result struct {
	Status string `json:"status"`
	Users  int    `json:"users"`
}

// Main is the surreal-users Lambda.
func Main() {
	log := obs.NewLogger(os.Stderr, PhysicalID)
	d, err := FromEnv(context.Background(), log)
	if err != nil {
		log.Error("init failed", "err", err)
		os.Exit(1)
	}
	lambda.Start(d.Handle)
}

// FromEnv is the Definer the environment describes, reading secrets from
// Secrets Manager.
func FromEnv(ctx context.Context, log *slog.Logger) (Definer, error) {
	users, err := DecodeUsers(os.Getenv(EnvUsers), os.Getenv(EnvUserSecrets))
	if err != nil {
		return Definer{}, err
	}
	sm, err := NewSecretsManager(ctx, "")
	if err != nil {
		return Definer{}, err
	}
	d := Definer{URL: os.Getenv(EnvURL), Namespace: surreal.Namespace, RootSecretArn: os.Getenv(EnvRootSecret),
		Users: users, Secrets: sm, Log: log, Wait: 3 * time.Minute}
	if arn := os.Getenv(EnvCASecret); arn != "" {
		certs := &Certifier{CASecretArn: arn, Secrets: sm}
		if err := json.Unmarshal([]byte(os.Getenv(EnvServers)), &certs.Servers); err != nil {
			return Definer{}, fmt.Errorf("%s: %w", EnvServers, err)
		}
		if err := json.Unmarshal([]byte(os.Getenv(EnvCACopies)), &certs.CACopies); err != nil {
			return Definer{}, fmt.Errorf("%s: %w", EnvCACopies, err)
		}
		for _, u := range users { // each function's SurrealDB secret carries the CA too
			certs.CACopies = append(certs.CACopies, u.SecretArn)
		}
		d.Certs = certs
	}
	return d, nil
}

// StepCerts, as the custom resource's property Step or a payload's "step",
// runs the certificate step (Certifier) instead of defining users.
const StepCerts = "certs"

// Handle answers a CloudFormation custom resource event (Create and Update
// apply; Delete keeps the users, as the stack keeps their secrets) or, for
// any other payload, applies and returns a Result.
func (d Definer) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	var probe struct {
		RequestType        string
		Step               string `json:"step"`
		ResourceProperties struct{ Step string }
	}
	_ = json.Unmarshal(payload, &probe)
	if probe.Step == StepCerts || probe.ResourceProperties.Step == StepCerts {
		return d.handleCerts(ctx, payload, probe.RequestType)
	}
	if probe.RequestType == "" {
		if err := d.Apply(ctx); err != nil {
			return nil, err
		}
		return Result{Status: "defined", Users: len(d.Users)}, nil
	}
	var event cfn.Event
	if err := json.Unmarshal(payload, &event); err != nil {
		return nil, fmt.Errorf("custom resource event: %w", err)
	}
	return cfn.LambdaWrap(d.OnEvent)(ctx, event)
}

// OnEvent is the custom resource's logic. A managed SurrealDB whose root
// password is not entered yet does not fail the deploy: the resource
// reports Status "pending" and the operator invokes the function once the
// password is in (README, deploy runbook).
func (d Definer) OnEvent(ctx context.Context, event cfn.Event) (string, map[string]any, error) {
	if event.RequestType == cfn.RequestDelete {
		return PhysicalID, nil, nil
	}
	err := d.Apply(ctx)
	switch {
	case errors.Is(err, ErrNoRootPassword):
		d.logger().Warn("surreal users pending: fill root's SurrealDB secret, then invoke this function", "err", err)
		return PhysicalID, map[string]any{"Status": "pending"}, nil
	case err != nil:
		return PhysicalID, nil, err
	}
	return PhysicalID, map[string]any{"Status": "defined"}, nil
}

// handleCerts runs the certificate step, directly or as the custom resource
// SelfHostedTls (whose Delete keeps the certificates, as the stack
// keeps their secrets).
func (d Definer) handleCerts(ctx context.Context, payload json.RawMessage, requestType string) (any, error) {
	if d.Certs == nil {
		return nil, errNoCertifier
	}
	if requestType == "" {
		if _, err := d.Certs.Apply(ctx); err != nil {
			return nil, err
		}
		return Result{Status: "certified"}, nil
	}
	var event cfn.Event
	if err := json.Unmarshal(payload, &event); err != nil {
		return nil, fmt.Errorf("custom resource event: %w", err)
	}
	return cfn.LambdaWrap(func(ctx context.Context, event cfn.Event) (string, map[string]any, error) {
		if event.RequestType == cfn.RequestDelete {
			return CertsPhysicalID, nil, nil
		}
		if _, err := d.Certs.Apply(ctx); err != nil {
			return CertsPhysicalID, nil, err
		}
		return CertsPhysicalID, map[string]any{"Status": "certified"}, nil
	})(ctx, event)
}

// CertsPhysicalID names the certificate custom resource.
const CertsPhysicalID = "self-hosted-tls"

// SecretsManager reads JSON secrets from AWS Secrets Manager.
type SecretsManager struct{ client *secretsmanager.Client }

// NewSecretsManager connects to Secrets Manager; endpoint overrides AWS's ("" for AWS).
func NewSecretsManager(ctx context.Context, endpoint string) (*SecretsManager, error) {
	cfg, err := awscfg.Load(ctx, endpoint)
	if err != nil {
		return nil, err
	}
	return &SecretsManager{client: secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})}, nil
}

// SecretJSON reads the secret arn, a JSON object of strings.
func (s *SecretsManager) SecretJSON(ctx context.Context, arn string) (map[string]string, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read secret %s: %w", arn, err)
	}
	var values map[string]string
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &values); err != nil {
		return nil, fmt.Errorf("secret %s is not a JSON object of strings: %w", arn, err)
	}
	return values, nil
}

// PutSecretJSON replaces the value of the secret arn with values (a new version).
func (s *SecretsManager) PutSecretJSON(ctx context.Context, arn string, values map[string]string) error {
	raw, err := json.Marshal(values)
	if err != nil {
		return err
	}
	if _, err := s.client.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(arn),
		SecretString: aws.String(string(raw))}); err != nil {
		return fmt.Errorf("write secret %s: %w", arn, err)
	}
	return nil
}
