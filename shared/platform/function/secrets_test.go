package function

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// A function that calls another system's API (catalog Calls) gets its URL
// and service key from a secret named by <SYSTEM>_CLIENT_SECRET_ARN, read
// from Secrets Manager (here a local server speaking its JSON protocol), as
// the database and API credentials are: the key is never plain configuration.
func TestClientSecretsAreResolved(t *testing.T) {
	const arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:stratum/kogral-client-AbCdEf"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct{ SecretId string }
		_ = json.NewDecoder(r.Body).Decode(&in)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || in.SecretId != arn {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`))
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": arn, "Name": "stratum/kogral-client",
			"SecretString": `{"url":"https://kogral.example","api_key":"svc-key-1"}`})
	}))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("KOGRAL_CLIENT_SECRET_ARN", arn)
	t.Setenv("KOGRAL_URL", "")
	t.Setenv("KOGRAL_API_KEY", "")
	if _, err := resolveSecrets(context.Background()); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("KOGRAL_API_KEY") != "svc-key-1" || os.Getenv("KOGRAL_URL") != "https://kogral.example" {
		t.Fatalf("KOGRAL_API_KEY %q, KOGRAL_URL %q", os.Getenv("KOGRAL_API_KEY"), os.Getenv("KOGRAL_URL"))
	}
	t.Setenv("KOGRAL_CLIENT_SECRET_ARN", arn+"-gone")
	if _, err := resolveSecrets(context.Background()); err == nil {
		t.Fatal("a secret that cannot be read was ignored")
	}
}

// A deployed function's SURREAL_SECRET_ARN and API_AUTH_SECRET_ARN become the
// variables the adapters read, from Secrets Manager's wire format; a variable
// already set wins; a missing secret fails the start naming it.
func TestResolveSecretsFromSecretsManager(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		switch {
		case strings.Contains(string(body), `"arn:surreal"`):
			_, _ = io.WriteString(w, `{"SecretString":"{\"url\":\"wss://db.example\",\"user\":\"fn\",\"pass\":\"pw\"}"}`)
		case strings.Contains(string(body), `"arn:auth"`):
			_, _ = io.WriteString(w, `{"SecretString":"{\"jwt_secret\":\"from-secret\",\"api_keys\":\"k1\"}"}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
		}
	}))
	defer srv.Close()
	for k, v := range map[string]string{"AWS_ENDPOINT_URL_SECRETS_MANAGER": srv.URL, "AWS_ACCESS_KEY_ID": "AKID",
		"AWS_SECRET_ACCESS_KEY": "S", "AWS_REGION": "us-east-1", "SURREAL_SECRET_ARN": "arn:surreal", "NATS_SECRET_ARN": "",
		"API_AUTH_SECRET_ARN": "arn:auth", "SURREAL_URL": "", "SURREAL_USER": "", "SURREAL_PASS": "", "API_JWT_SECRET": "set-before",
		"API_KEYS": ""} {
		t.Setenv(k, v)
	}
	if _, err := resolveSecrets(context.Background()); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"SURREAL_URL": "wss://db.example", "SURREAL_USER": "fn", "SURREAL_PASS": "pw",
		"API_JWT_SECRET": "set-before", "API_KEYS": "k1"} {
		if got := os.Getenv(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	t.Setenv("NATS_SECRET_ARN", "arn:gone")
	_, err := resolveSecrets(context.Background())
	if err == nil || !strings.Contains(err.Error(), "NATS_SECRET_ARN") || !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Fatalf("missing secret: %v", err)
	}
}
