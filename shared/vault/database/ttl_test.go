package database

import (
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// A lease's TTLs: the role's within the mount's tuned ones within the
// system's (768h), as Vault's framework.CalculateTTL.
func TestLeaseTTLsFollowTheMountTune(t *testing.T) {
	h := time.Hour
	for _, c := range []struct {
		name               string
		roleDef, roleMax   time.Duration
		mountDef, mountMax int64
		wantDef, wantMax   time.Duration
	}{
		{"untuned, no role TTLs", 0, 0, 0, 0, 768 * h, 768 * h},
		{"mount max caps the role's", h, 10 * h, 0, 7200, h, 2 * h},
		{"mount default when the role has none", 0, 0, 1800, 7200, h / 2, 2 * h},
		{"default above the max is cut", 5 * h, 0, 0, 3600, h, h},
		{"role within the mount", h / 4, h / 2, 3600, 7200, h / 4, h / 2},
	} {
		r := &role{DefaultTTL: c.roleDef, MaxTTL: c.roleMax}
		def, max := r.ttls(keeper.EngineRequest{DefaultLeaseTTL: c.mountDef, MaxLeaseTTL: c.mountMax})
		if def != c.wantDef || max != c.wantMax {
			t.Errorf("%s: %v/%v, want %v/%v", c.name, def, max, c.wantDef, c.wantMax)
		}
	}
}
