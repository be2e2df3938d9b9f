package pki

import (
	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

func (m mount) loadRole(name string) (*Role, error) {
	if !roleName.MatchString(name) {
		return nil, invalid("invalid role name %q", name)
	}
	r := &Role{}
	rev, err := m.get("roles/"+name, r)
	if err != nil {
		return nil, err
	}
	if rev == 0 {
		return nil, invalid("unknown role: %s", name)
	}
	return r, nil
}

// roleName is the role a roles/<name> path names, checked.
func (m mount) roleName() (string, error) {
	name := m.p["name"]
	if !roleName.MatchString(name) {
		return "", invalid("invalid role name %q", name)
	}
	return name, nil
}

func (m mount) readRole() (keeper.EngineResponse, error) {
	name, err := m.roleName()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	r := &Role{}
	rev, err := m.get("roles/"+name, r)
	if err != nil || rev == 0 {
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.NotFound()
	}
	return engine.OK(r.describe())
}

// writeRole creates a role or changes the settings the request gives.
func (m mount) writeRole() (keeper.EngineResponse, error) {
	name, err := m.roleName()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	r := defaultRole()
	if _, err := m.get("roles/"+name, r); err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := roleFrom(m.f, r); err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := m.put("roles/"+name, r, -1); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.OK(r.describe())
}

func (m mount) deleteRole() (keeper.EngineResponse, error) {
	name, err := m.roleName()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := m.e.st.Delete(m.ctx, m.path("roles/"+name)); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}

// roleUnsupported answers another operation on roles/<name>: the name is
// checked first, as for the others.
func (m mount) roleUnsupported() (keeper.EngineResponse, error) {
	if _, err := m.roleName(); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.Unsupported()
}
