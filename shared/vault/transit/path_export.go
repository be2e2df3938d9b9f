package transit

import (
	"strconv"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// export serves export/<type>/<name>[/<version>].
func (k keyRequest) export() (keeper.EngineResponse, error) {
	kind := k.p["type"]
	var version []string
	if v, ok := k.p["version"]; ok {
		version = []string{v}
	}
	p, _, err := k.e.load(k.ctx, k.path)
	if err != nil || p == nil {
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.NotFound()
	}
	if kind != "public-key" && !p.Exportable {
		return keeper.EngineResponse{}, invalid("private key material is not exportable")
	}
	versions := p.versions()
	if len(version) == 1 && version[0] != "latest" {
		n, err := strconv.Atoi(version[0])
		if err != nil || p.Keys[version[0]] == nil {
			return keeper.EngineResponse{}, invalid("invalid key version %q", version[0])
		}
		versions = []int{n}
	} else if len(version) == 1 {
		versions = []int{p.LatestVersion}
	}
	keys := map[string]string{}
	for _, n := range versions {
		s, err := p.Keys[strconv.Itoa(n)].exportKey(p.Type, kind)
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		keys[strconv.Itoa(n)] = s
	}
	return engine.OK(map[string]any{"name": p.Name, "type": p.Type, "keys": keys})
}
