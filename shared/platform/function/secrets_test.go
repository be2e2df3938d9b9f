package function

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
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
