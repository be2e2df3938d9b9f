package authz_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/shared/platform/authz"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

func engine(t *testing.T) *authz.Engine {
	t.Helper()
	e, err := authz.Load(os.DirFS("testdata"), "demo")
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestDecisions(t *testing.T) {
	e := engine(t)
	team := cedar.NewEntityUID("Team", "platform")
	alice := cedar.NewEntityUID("User", "alice")
	bob := cedar.NewEntityUID("User", "bob")
	doc := cedar.NewEntityUID("Document", "runbook")
	secret := cedar.NewEntityUID("Document", "keys")
	entities := authz.Entities(
		authz.Entity(team, nil),
		authz.Entity(alice, cedar.RecordMap{"level": cedar.Long(1)}, team),
		authz.Entity(bob, cedar.RecordMap{"level": cedar.Long(5)}),
		authz.Entity(doc, cedar.RecordMap{"owner": bob, "classification": cedar.String("internal")}),
		authz.Entity(secret, cedar.RecordMap{"owner": bob, "classification": cedar.String("secret")}),
	)
	read, write := cedar.NewEntityUID("Action", "read"), cedar.NewEntityUID("Action", "write")
	cases := []struct {
		name      string
		principal cedar.EntityUID
		action    cedar.EntityUID
		resource  cedar.EntityUID
		hour      int64
		allowed   bool
		policies  string
	}{
		{"team member reads", alice, read, doc, 10, true, "[team-read]"},
		{"owner writes", bob, write, doc, 10, true, "[owners-write]"},
		{"non-owner cannot write", alice, write, doc, 10, false, "[]"},
		{"non-member cannot read", bob, read, doc, 10, false, "[]"},
		{"forbid beats permit at night", alice, read, doc, 23, false, "[office-hours]"},
		{"low level cannot read secret", alice, read, secret, 10, false, "[secret-needs-level]"},
		{"unknown principal denied", cedar.NewEntityUID("User", "mallory"), read, doc, 10, false, "[]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := e.Authorize(context.Background(), authz.Request{
				Principal: tc.principal, Action: tc.action, Resource: tc.resource,
				Context:  cedar.NewRecord(cedar.RecordMap{"hour": cedar.Long(tc.hour)}),
				Entities: entities,
			})
			if d.Allowed != tc.allowed || fmt.Sprint(d.Policies) != tc.policies {
				t.Fatalf("allowed=%v policies=%v, want %v %s", d.Allowed, d.Policies, tc.allowed, tc.policies)
			}
		})
	}
}

func TestDecisionIsLogged(t *testing.T) {
	e := engine(t)
	var buf bytes.Buffer
	ctx := obs.WithLogger(context.Background(), slog.New(slog.NewJSONHandler(&buf, nil)))
	ctx = obs.WithRequestID(ctx, "rid-1")
	e.Authorize(ctx, authz.Request{
		Principal: cedar.NewEntityUID("User", "x"), Action: cedar.NewEntityUID("Action", "read"),
		Resource: cedar.NewEntityUID("Document", "d"), Context: cedar.NewRecord(cedar.RecordMap{"hour": cedar.Long(12)}),
	})
	line := buf.String()
	for _, want := range []string{`"msg":"authz decision"`, `"decision":"deny"`, `"request_id":"rid-1"`, `"system":"demo"`, `User::\"x\"`} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %s: %s", want, line)
		}
	}
}

func TestPolicyAgainstSchemaIsRejected(t *testing.T) {
	e := engine(t)
	before := fmt.Sprint(e.PolicyIDs())
	err := e.AddPolicies("bad.cedar", []byte(`@id("typo") permit (principal, action, resource) when { resource.ownr == principal };`))
	if err == nil || !strings.Contains(err.Error(), `"typo" does not match the schema`) {
		t.Fatalf("want schema error, got %v", err)
	}
	err = e.AddPolicies("syntax.cedar", []byte(`permit (principal action resource);`))
	if err == nil || !strings.Contains(err.Error(), "parse cedar syntax.cedar") {
		t.Fatalf("want parse error, got %v", err)
	}
	err = e.AddPolicies("dup.cedar", []byte(`@id("team-read") permit (principal, action, resource);`))
	if err == nil || !strings.Contains(err.Error(), "defined twice") {
		t.Fatalf("want duplicate error, got %v", err)
	}
	if fmt.Sprint(e.PolicyIDs()) != before {
		t.Fatal("a rejected document changed the policy set")
	}
}

func TestNoPoliciesDeniesAll(t *testing.T) {
	e, err := authz.Load(os.DirFS("testdata"), "empty")
	if err != nil {
		t.Fatal(err)
	}
	if d := e.Authorize(context.Background(), authz.Request{}); d.Allowed {
		t.Fatal("allowed without policies")
	}
}
