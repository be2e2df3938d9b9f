package pki

import (
	"errors"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// rotateCRL serves crl/rotate: the CRL signed anew.
func (m mount) rotateCRL() (keeper.EngineResponse, error) {
	if _, err := m.rebuildCRL(); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.OK(map[string]any{"success": true})
}

func (m mount) revoke() (keeper.EngineResponse, error) {
	s, err := m.f.String("serial_number")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	serial, err := normalizeSerial(s)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	ca, err := m.requireCA()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if serial == serialString(ca.cert.SerialNumber) {
		return keeper.EngineResponse{}, invalid("adding the CA to its own CRL is not allowed")
	}
	var rec certRecord
	rev, err := m.get("certs/"+serial, &rec)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if rev == 0 {
		return keeper.EngineResponse{}, invalid("certificate with serial %s not found", serial)
	}
	if rec.RevokedAt.IsZero() {
		rec.RevokedAt = time.Now().UTC().Truncate(time.Second)
		if err := m.put("certs/"+serial, rec, rev); err != nil && !errors.Is(err, storage.ErrConflict) {
			return keeper.EngineResponse{}, err
		}
	}
	if _, err := m.rebuildCRLWith(ca); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.OK(map[string]any{"revocation_time": rec.RevokedAt.Unix(), "revocation_time_rfc3339": rec.RevokedAt.Format(time.RFC3339), "state": "revoked"})
}
