package authz

import (
	"context"

	"github.com/cedar-policy/cedar-go"

	"github.com/stratumiops/stratumiops/shared/platform/principal"
)

// Caller is the Cedar entity of an authenticated API caller:
// Caller::"<subject>" with its scopes and the person behind the credential
// (principal.Person: the same for one person's JWT and API key). The
// systems' schemas declare `entity Caller { scopes: Set<String> }`, and
// `person: String` where a policy compares people.
func Caller(p *principal.Principal) cedar.Entity {
	scopes := make([]cedar.Value, len(p.Scopes))
	for i, s := range p.Scopes {
		scopes[i] = cedar.String(s)
	}
	person := p.Person
	if person == "" {
		person = p.Subject
	}
	return Entity(cedar.NewEntityUID("Caller", cedar.String(p.Subject)),
		cedar.RecordMap{"scopes": cedar.NewSet(scopes...), "person": cedar.String(person)})
}

// Allows asks whether the request's caller (principal.From(ctx)) may do
// action on resource; a request without a caller is denied.
func (e *Engine) Allows(ctx context.Context, action string, resource cedar.Entity) bool {
	p := principal.From(ctx)
	if p == nil {
		return false
	}
	caller := Caller(p)
	return e.Authorize(ctx, Request{Principal: caller.UID, Action: cedar.NewEntityUID("Action", cedar.String(action)),
		Resource: resource.UID, Entities: Entities(caller, resource)}).Allowed
}
