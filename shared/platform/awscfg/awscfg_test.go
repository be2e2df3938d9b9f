package awscfg_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
)

func clearAWSEnv(t *testing.T) {
	for _, v := range []string{"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SECRETS_MANAGER"} {
		t.Setenv(v, "")
	}
}

func TestLoadFromEnvironment(t *testing.T) {
	clearAWSEnv(t)
	ctx := context.Background()
	cfg, err := awscfg.Load(ctx, "")
	if err != nil || cfg.Region != "us-east-1" {
		t.Fatalf("no region: %q, %v", cfg.Region, err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err == nil || !strings.Contains(err.Error(), "no AWS credentials") {
		t.Fatalf("without credentials: %v", err)
	}
	cfg, _ = awscfg.Load(ctx, "http://127.0.0.1:1")
	if c, err := cfg.Credentials.Retrieve(ctx); err != nil || c.AccessKeyID != "local" {
		t.Fatalf("local endpoint: %+v, %v", c, err)
	}
	t.Setenv("AWS_DEFAULT_REGION", "eu-central-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	if _, err := awscfg.Load(ctx, ""); err == nil {
		t.Fatal("a key id without its secret was accepted")
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	t.Setenv("AWS_SESSION_TOKEN", "TOKEN")
	cfg, err = awscfg.Load(ctx, "http://127.0.0.1:1")
	if err != nil || cfg.Region != "eu-central-1" {
		t.Fatalf("region %q, %v", cfg.Region, err)
	}
	if c, err := cfg.Credentials.Retrieve(ctx); err != nil || c.AccessKeyID != "AKID" || c.SessionToken != "TOKEN" {
		t.Fatalf("environment credentials: %+v, %v", c, err)
	}
}

// The container credentials endpoint (ECS/Fargate) as the SDK reads it: an
// Authorization token from the environment or a file, temporary keys back.
func TestLoadFromContainerEndpoint(t *testing.T) {
	clearAWSEnv(t)
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "task-token" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":"Unauthorized","message":"bad token"}`)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"AccessKeyId": "ASIA", "SecretAccessKey": "S", "Token": "T",
			"Expiration": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	}))
	defer srv.Close()
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", srv.URL+"/creds")
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "task-token")
	ctx := context.Background()
	cfg, err := awscfg.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if c, err := cfg.Credentials.Retrieve(ctx); err != nil || c.AccessKeyID != "ASIA" || c.SessionToken != "T" {
			t.Fatalf("container credentials: %+v, %v", c, err)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("%d calls to the endpoint, want 1 (cached until they expire)", calls.Load())
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte("wrong\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", file)
	cfg, _ = awscfg.Load(ctx, "")
	if _, err := cfg.Credentials.Retrieve(ctx); err == nil {
		t.Fatal("the token file's wrong token was accepted")
	}
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.169.254/latest")
	if _, err := awscfg.Load(ctx, ""); err == nil {
		t.Fatal("plain http to a host other than a loopback or the container host was accepted")
	}
}

// Secrets Manager's JSON 1.1 wire format: a signed POST naming the operation,
// the secret back; error answers keep their exception name; server errors are
// retried.
func TestSecretsManagerCall(t *testing.T) {
	clearAWSEnv(t)
	t.Setenv("AWS_REGION", "eu-west-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKID")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "SECRET")
	var fails atomic.Int32
	fails.Store(2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if r.Method != "POST" || r.URL.Path != "/" || r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" ||
			r.Header.Get("Content-Type") != "application/x-amz-json-1.1" || r.Header.Get("X-Amz-Date") == "" ||
			!strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(auth, "/eu-west-1/secretsmanager/aws4_request") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"InvalidSignatureException","message":"bad request"}`)
			return
		}
		var in struct{ SecretId string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		switch {
		case in.SecretId == "flaky" && fails.Add(-1) >= 0:
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, `{"__type":"InternalServiceError","message":"try again"}`)
		case in.SecretId == "missing":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"com.amazonaws.secretsmanager#ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`)
		default:
			_, _ = io.WriteString(w, `{"ARN":"arn:x","Name":"`+in.SecretId+`","SecretString":"{\"url\":\"ws://db\"}"}`)
		}
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", srv.URL)
	ctx := context.Background()
	cfg, err := awscfg.Load(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	sm := awscfg.SecretsManager(cfg)
	var out struct{ SecretString string }
	if err := sm.Call(ctx, "GetSecretValue", map[string]string{"SecretId": "flaky"}, &out); err != nil || out.SecretString != `{"url":"ws://db"}` {
		t.Fatalf("after two server errors: %q, %v", out.SecretString, err)
	}
	err = sm.Call(ctx, "GetSecretValue", map[string]string{"SecretId": "missing"}, &out)
	var api *awscfg.APIError
	if !errors.As(err, &api) || api.Code != "ResourceNotFoundException" || api.Status != 400 || !strings.Contains(api.Message, "can't find") {
		t.Fatalf("missing secret: %v", err)
	}
}
