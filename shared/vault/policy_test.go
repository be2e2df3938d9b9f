package vault

import (
	"context"
	"testing"

	"github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/authz"
)

// The shipped office-hours example: production secrets only 08:00–18:00 UTC on weekdays.
func TestOfficeHoursExample(t *testing.T) {
	p, err := newPolicies(nil)
	if err != nil {
		t.Fatal(err)
	}
	text, err := schemas.Cedar.ReadFile("cedar/vault/examples/office-hours.cedar")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := p.parse("office-hours", string(text))
	if err != nil {
		t.Fatal(err)
	}
	engine, err := authz.NewEngine("vault", doc)
	if err != nil {
		t.Fatal(err)
	}
	tok := cedar.NewEntityUID("Token", "acc")
	cases := []struct {
		path          string
		hour, weekday int
		allowed       bool
	}{
		{"secret/data/prod/db", 10, 3, true},
		{"secret/data/prod/db", 7, 3, false},  // before 08:00
		{"secret/data/prod/db", 18, 3, false}, // 18:00 is closed
		{"secret/data/prod/db", 10, 0, false}, // Sunday
		{"secret/data/prod/db", 10, 6, false}, // Saturday
		{"secret/data/dev/db", 10, 3, false},  // no permit outside prod
	}
	for _, c := range cases {
		res := cedar.NewEntityUID("Path", cedar.String(c.path))
		d := engine.Authorize(context.Background(), authz.Request{
			Principal: tok, Action: cedar.NewEntityUID("Action", "read"), Resource: res,
			Context: cedar.NewRecord(cedar.RecordMap{"hour": cedar.Long(c.hour), "weekday": cedar.Long(c.weekday), "remote_addr": cedar.String("")}),
			Entities: cedar.EntityMap{
				tok: {UID: tok, Attributes: cedar.NewRecord(cedar.RecordMap{"display_name": cedar.String("t"), "policies": cedar.NewSet()})},
				res: {UID: res, Attributes: cedar.NewRecord(cedar.RecordMap{"path": cedar.String(c.path), "mount": cedar.String("secret/")})},
			},
		})
		if d.Allowed != c.allowed {
			t.Errorf("%s at %02d:00 on day %d: allowed=%v (policies %v)", c.path, c.hour, c.weekday, d.Allowed, d.Policies)
		}
	}
}
