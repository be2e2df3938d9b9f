package dbusers_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	localsurreal "github.com/stratumiops/stratumiops/localstack/surreal"
	"github.com/stratumiops/stratumiops/shared/platform/dbusers"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

var surrealURL string

func TestMain(m *testing.M) { os.Exit(localsurreal.RunTests(m, &surrealURL)) }

// secretsServer speaks Secrets Manager's JSON protocol (GetSecretValue,
// PutSecretValue and their ResourceNotFoundException) for the secrets it
// holds; a put replaces the map's entry.
func secretsServer(t *testing.T, secrets map[string]map[string]string) string {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		var in struct{ SecretId, SecretString string }
		target := r.Header.Get("X-Amz-Target")
		if (target != "secretsmanager.GetSecretValue" && target != "secretsmanager.PutSecretValue") || json.NewDecoder(r.Body).Decode(&in) != nil {
			http.Error(w, `{"__type":"InvalidRequestException","Message":"bad request"}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		s, ok := secrets[in.SecretId]
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","Message":"Secrets Manager can't find the specified secret."}`)
			return
		}
		if target == "secretsmanager.PutSecretValue" {
			var values map[string]string
			if json.Unmarshal([]byte(in.SecretString), &values) != nil {
				http.Error(w, `{"__type":"InvalidParameterException","Message":"not JSON"}`, http.StatusBadRequest)
				return
			}
			clear(s)
			maps.Copy(s, values)
			_ = json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": in.SecretId, "VersionId": "v2",
				"VersionStages": []string{"AWSCURRENT"}})
			return
		}
		raw, _ := json.Marshal(s)
		_ = json.NewEncoder(w).Encode(map[string]any{"ARN": in.SecretId, "Name": in.SecretId, "SecretString": string(raw),
			"VersionId": "v1", "VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// cloudFormation receives a custom resource's response (a PUT to the
// pre-signed ResponseURL) and returns it.
func cloudFormation(t *testing.T) (url string, response func() map[string]any) {
	t.Helper()
	var mu sync.Mutex
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodPut || json.NewDecoder(r.Body).Decode(&got) != nil {
			t.Errorf("custom resource response: %s", r.Method)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/response", func() map[string]any { mu.Lock(); defer mu.Unlock(); return got }
}

func definer(t *testing.T, secrets map[string]map[string]string, users []dbusers.User) dbusers.Definer {
	t.Helper()
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	sm, err := dbusers.NewSecretsManager(context.Background(), secretsServer(t, secrets))
	if err != nil {
		t.Fatal(err)
	}
	return dbusers.Definer{URL: surrealURL, Namespace: surreal.Namespace, RootSecretArn: "root", Users: users, Secrets: sm}
}

func signedIn(t *testing.T, database, user, pass string) *surreal.Client {
	t.Helper()
	c := surreal.New(surreal.Config{URL: surrealURL, User: user, Pass: pass, Namespace: surreal.Namespace,
		Database: database, Level: surreal.LevelDatabase}, nil)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func cfnEvent(t *testing.T, requestType, responseURL string) json.RawMessage {
	raw, err := json.Marshal(map[string]any{"RequestType": requestType, "ResponseURL": responseURL,
		"StackId": "arn:aws:cloudformation:eu-west-1:1:stack/StratumPlatform/x", "RequestId": "r1",
		"LogicalResourceId": "SurrealUsers", "ResourceType": "Custom::SurrealUsers",
		"ResourceProperties": map[string]any{"ServiceToken": "arn", "Users": "[]"}})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// The custom resource, signed in as root, defines each function's user in
// its own database with the password of the function's secret; a
// function's user works in its database and cannot touch another one.
func TestCustomResourceDefinesConfinedUsers(t *testing.T) {
	ctx := context.Background()
	secrets := map[string]map[string]string{
		"root":      {"user": "root", "pass": "root"},
		"surreal/a": {"user": "fn_dbu_a", "pass": "pass-of-a"},
		"surreal/b": {"user": "fn_dbu_b", "pass": "pass-of-b"},
	}
	d := definer(t, secrets, []dbusers.User{
		{Function: "dbu-a", User: "fn_dbu_a", Database: "t_dbu_a", SecretArn: "surreal/a"},
		{Function: "dbu-b", User: "fn_dbu_b", Database: "t_dbu_b", SecretArn: "surreal/b"},
	})
	url, response := cloudFormation(t)
	if _, err := d.Handle(ctx, cfnEvent(t, "Create", url)); err != nil {
		t.Fatal(err)
	}
	if r := response(); r["Status"] != "SUCCESS" || r["PhysicalResourceId"] != dbusers.PhysicalID {
		t.Fatalf("CloudFormation heard %v", r)
	}
	a, b := signedIn(t, "t_dbu_a", "fn_dbu_a", "pass-of-a"), signedIn(t, "t_dbu_b", "fn_dbu_b", "pass-of-b")
	if _, err := surreal.Query[any](ctx, b, "DEFINE TABLE IF NOT EXISTS notes SCHEMALESS; UPSERT notes:b SET v = 'b only';", nil); err != nil {
		t.Fatalf("b in its own database: %v", err)
	}
	if _, err := surreal.Query[any](ctx, a, "DEFINE TABLE IF NOT EXISTS notes SCHEMALESS; UPSERT notes:a SET v = 'a';", nil); err != nil {
		t.Fatalf("a in its own database: %v", err)
	}
	got, err := surreal.Query[[]any](ctx, a, "USE DB t_dbu_b; SELECT * FROM notes;", nil)
	if err == nil && len(got) > 0 {
		t.Fatalf("a read b's database: %v", got)
	}
	_, _ = surreal.Query[any](ctx, signedIn(t, "t_dbu_a", "fn_dbu_a", "pass-of-a"), "USE DB t_dbu_b; UPSERT notes:b SET v = 'overwritten';", nil)
	if v, err := surreal.Query[[]string](ctx, b, "SELECT VALUE v FROM notes", nil); err != nil || len(v) != 1 || v[0] != "b only" {
		t.Fatalf("a wrote b's database: %v %v", v, err)
	}
	if err := signedIn(t, "t_dbu_b", "fn_dbu_a", "pass-of-a").Ping(ctx); err == nil {
		t.Fatal("a's user signed in to b's database")
	}

	// Run again by hand (a new password in a's secret): the user follows it.
	secrets["surreal/a"]["pass"] = "rotated"
	out, err := d.Handle(ctx, json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := out.(dbusers.Result); !ok || r.Status != "defined" || r.Users != 2 {
		t.Fatalf("direct invocation: %#v", out)
	}
	if err := signedIn(t, "t_dbu_a", "fn_dbu_a", "rotated").Ping(ctx); err != nil {
		t.Fatalf("rotated password: %v", err)
	}
	if err := signedIn(t, "t_dbu_a", "fn_dbu_a", "pass-of-a").Ping(ctx); err == nil {
		t.Fatal("the old password still signs in")
	}
}

// A managed SurrealDB's root password is entered after the first deploy:
// the deploy succeeds with the users pending; a failure to define (a
// missing secret) fails the resource, naming the function.
func TestCustomResourcePendingAndFailure(t *testing.T) {
	ctx := context.Background()
	d := definer(t, map[string]map[string]string{"root": {"user": "root", "pass": ""}},
		[]dbusers.User{{Function: "dbu-c", User: "fn_dbu_c", Database: "t_dbu_c", SecretArn: "surreal/c"}})
	url, response := cloudFormation(t)
	if _, err := d.Handle(ctx, cfnEvent(t, "Create", url)); err != nil {
		t.Fatal(err)
	}
	r := response()
	if data, _ := r["Data"].(map[string]any); r["Status"] != "SUCCESS" || data["Status"] != "pending" {
		t.Fatalf("empty root password: CloudFormation heard %v", r)
	}
	if _, err := d.Handle(ctx, json.RawMessage(`{}`)); err == nil {
		t.Fatal("a direct invocation without root's password succeeded")
	}

	d = definer(t, map[string]map[string]string{"root": {"user": "root", "pass": "root"}}, d.Users)
	if _, err := d.Handle(ctx, cfnEvent(t, "Update", url)); err != nil {
		t.Fatal(err)
	}
	if r := response(); r["Status"] != "FAILED" || !strings.Contains(r["Reason"].(string), "dbu-c") {
		t.Fatalf("missing function secret: CloudFormation heard %v", r)
	}
	if _, err := d.Handle(ctx, cfnEvent(t, "Delete", url)); err != nil {
		t.Fatal(err)
	}
	if r := response(); r["Status"] != "SUCCESS" {
		t.Fatalf("delete: CloudFormation heard %v", r)
	}
}

// The users travel in the Lambda's environment as "function=database,…":
// decoding names each user by the catalog's rule and its secret by the
// prefix; a malformed entry is refused naming it.
func TestUsersEncodeCompactly(t *testing.T) {
	users := []dbusers.User{{Function: "vault-sys", Database: "secretumvault"}, {Function: "vapora-projects", Database: "vapora"}}
	enc := dbusers.EncodeUsers(users)
	if enc != "vault-sys=secretumvault,vapora-projects=vapora" {
		t.Fatalf("encoded %q", enc)
	}
	got, err := dbusers.DecodeUsers(enc, "stratum/prod/surreal/")
	if err != nil {
		t.Fatal(err)
	}
	want := []dbusers.User{
		{Function: "vault-sys", User: "fn_vault_sys", Database: "secretumvault", SecretArn: "stratum/prod/surreal/vault-sys"},
		{Function: "vapora-projects", User: "fn_vapora_projects", Database: "vapora", SecretArn: "stratum/prod/surreal/vapora-projects"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("decoded %+v", got)
	}
	if _, err := dbusers.DecodeUsers("vault-sys", ""); err == nil || !strings.Contains(err.Error(), `"vault-sys"`) {
		t.Fatalf("malformed entry: %v", err)
	}
}
