package pki

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// crlState is the mount's current CRL and what it lists.
type crlState struct {
	Number  int64             `json:"number"`
	Revoked map[string]string `json:"revoked"` // serial → RFC 3339 revocation time
	DER     []byte            `json:"der"`
}

func (m mount) rebuildCRL() (*crlState, error) {
	ca, err := m.requireCA()
	if err != nil {
		return nil, err
	}
	return m.rebuildCRLWith(ca)
}

// rebuildCRLWith signs a new CRL listing every revoked certificate of the
// mount, retrying when a concurrent revocation raced it.
func (m mount) rebuildCRLWith(ca *caBundle) (*crlState, error) {
	for attempt := 0; ; attempt++ {
		var st crlState
		rev, err := m.get("crl", &st)
		if err != nil {
			return nil, err
		}
		revoked, err := m.revokedCerts()
		if err != nil {
			return nil, err
		}
		st.Number++
		st.Revoked = map[string]string{}
		now := time.Now().UTC()
		tmpl := &x509.RevocationList{Number: big.NewInt(st.Number), ThisUpdate: now, NextUpdate: now.Add(crlLifetime)}
		for serial, at := range revoked {
			n, _ := new(big.Int).SetString(strings.ReplaceAll(serial, ":", ""), 16)
			tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: n, RevocationTime: at})
			st.Revoked[serial] = at.Format(time.RFC3339)
		}
		if st.DER, err = createCRL(tmpl, ca.cert, ca.key); err != nil {
			return nil, fmt.Errorf("sign CRL: %w", err)
		}
		if rev == 0 {
			rev = -1 // the first CRL of a mount
		}
		err = m.put("crl", st, rev)
		if err == nil {
			return &st, nil
		}
		if !errors.Is(err, storage.ErrConflict) || attempt == 4 {
			return nil, err
		}
	}
}

// revokedCerts reads every stored certificate's revocation state.
func (m mount) revokedCerts() (map[string]time.Time, error) {
	serials, err := m.e.st.List(m.ctx, m.path("certs/"))
	if err != nil {
		return nil, err
	}
	paths := make([]string, len(serials))
	for i, s := range serials {
		paths[i] = m.path("certs/" + s)
	}
	out := map[string]time.Time{}
	if len(paths) == 0 {
		return out, nil
	}
	got, err := m.e.st.Get(m.ctx, paths...)
	if err != nil {
		return nil, err
	}
	for p, ent := range got {
		var rec certRecord
		if err := json.Unmarshal(ent.Data, &rec); err != nil {
			return nil, fmt.Errorf("decode %s: %w", p, err)
		}
		if !rec.RevokedAt.IsZero() {
			out[strings.TrimPrefix(p, m.path("certs/"))] = rec.RevokedAt
		}
	}
	return out, nil
}
