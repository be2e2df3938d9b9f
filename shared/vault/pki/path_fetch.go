package pki

import (
	"encoding/pem"
	"net/http"
	"strings"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// The public paths, read without a token: the CA, its chain and the CRL in
// DER or PEM, and certificates by serial.

func raw(body []byte, contentType string) (keeper.EngineResponse, error) {
	return keeper.EngineResponse{Status: http.StatusOK, Raw: body, ContentType: contentType}, nil
}

// fetchCert serves cert/<serial>.
func (m mount) fetchCert() (keeper.EngineResponse, error) {
	serial, err := normalizeSerial(m.p["serial"])
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	var rec certRecord
	rev, err := m.get("certs/"+serial, &rec)
	if err != nil || rev == 0 {
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.NotFound()
	}
	out := map[string]any{"certificate": rec.Certificate, "revocation_time": int64(0)}
	if !rec.RevokedAt.IsZero() {
		out["revocation_time"], out["revocation_time_rfc3339"] = rec.RevokedAt.Unix(), rec.RevokedAt.Format(time.RFC3339)
	}
	return engine.OK(out)
}

// loadCAOrMiss loads the mount's CA; ok is false (with Vault's plain 404
// to answer) when there is none.
func (m mount) loadCAOrMiss() (*caBundle, keeper.EngineResponse, bool, error) {
	ca, err := m.loadCA()
	if err != nil {
		return nil, keeper.EngineResponse{}, false, err
	}
	if ca == nil {
		res, err := engine.NotFound()
		return nil, res, false, err
	}
	return ca, keeper.EngineResponse{}, true, nil
}

// fetchCA serves ca, ca/pem, ca_chain, cert/ca and cert/ca_chain.
func (m mount) fetchCA() (keeper.EngineResponse, error) {
	ca, miss, ok, err := m.loadCAOrMiss()
	if !ok {
		return miss, err
	}
	switch m.route {
	case "ca":
		return raw(ca.cert.Raw, "application/pkix-cert")
	case "ca/pem":
		return raw([]byte(ca.Certificate), "application/pem-certificate-chain")
	case "ca_chain":
		return raw([]byte(strings.Join(ca.chainPEM(), "")), "application/pem-certificate-chain")
	case "cert/ca":
		return engine.OK(map[string]any{"certificate": ca.Certificate, "ca_chain": ca.chainPEM()})
	}
	return engine.OK(map[string]any{"certificate": strings.Join(ca.chainPEM(), ""), "ca_chain": ca.chainPEM()}) // cert/ca_chain
}

// fetchCRL serves crl, crl/pem and cert/crl; a mount without a CRL yet
// gets its first.
func (m mount) fetchCRL() (keeper.EngineResponse, error) {
	ca, miss, ok, err := m.loadCAOrMiss()
	if !ok {
		return miss, err
	}
	var st crlState
	rev, err := m.get("crl", &st)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if rev == 0 {
		cur, err := m.rebuildCRLWith(ca)
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		st = *cur
	}
	crlPEM := pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: st.DER})
	switch m.route {
	case "crl":
		return raw(st.DER, "application/pkix-crl")
	case "crl/pem":
		return raw(crlPEM, "application/x-pem-file")
	}
	return engine.OK(map[string]any{"certificate": string(crlPEM)}) // cert/crl
}
