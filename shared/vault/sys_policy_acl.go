package vault

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// aclPolicy serves sys/policies/acl/<name> (what `vault policy write|read|
// list|delete` use): the policy is HCL, translated to Cedar and stored as
// both; reading it gives the HCL back. Policies written as Cedar
// (sys/policies/cedar) read here as their Cedar text, with a warning.
func (s *Server) aclPolicy(w http.ResponseWriter, r *http.Request, name string) error {
	if answered, err := s.policyRequest(w, r, "acl", name); answered {
		return err
	}
	switch r.Method {
	case http.MethodGet:
		return s.readACLPolicy(w, r, name)
	}
	return s.changePolicy(w, r, name, s.policies.putHCL)
}

func (s *Server) readACLPolicy(w http.ResponseWriter, r *http.Request, name string) error {
	if name == "root" {
		respond(w, http.StatusOK, map[string]any{"name": "root", "policy": ""}, nil, "system")
		return nil
	}
	p, err := s.policies.get(r.Context(), name)
	if err != nil {
		return err
	}
	if p == nil {
		return errNotFound
	}
	if p.HCL == "" {
		writeEnvelope(w, http.StatusOK, envelope{Data: map[string]any{"name": p.Name, "policy": p.Text}, MountType: "system",
			Warnings: []string{"policy " + name + " was written as Cedar (sys/policies/cedar); this is its Cedar text"}})
		return nil
	}
	respond(w, http.StatusOK, map[string]any{"name": p.Name, "policy": p.HCL, "cedar": p.Text}, nil, "system")
	return nil
}

// putHCL translates an HCL policy to Cedar and stores both.
func (p *policies) putHCL(ctx context.Context, name, text string) error {
	name = strings.ToLower(name) // as Vault, and as tokens carry them
	if name == "root" {
		return badRequest("cannot update the %q policy", name)
	}
	if !policyName.MatchString(name) {
		return badRequest("invalid policy name %q", name)
	}
	if strings.TrimSpace(text) == "" {
		return badRequest("'policy' parameter not supplied or empty")
	}
	rules, err := parseHCLPolicy(text)
	if err != nil {
		return badRequest("%v", err)
	}
	cedarText := hclToCedar(name, rules)
	if _, err := p.parse(name, cedarText); err != nil {
		return fmt.Errorf("policy %q: its Cedar translation does not validate: %w", name, err)
	}
	return p.store(ctx, name, cedarText, text)
}
