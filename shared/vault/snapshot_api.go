package vault

import (
	"context"
	"errors"
	"io"
	"net/http"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	vaultsnap "github.com/stratumiops/stratumiops/shared/vault/snapshot"
)

// Snapshot paths under /v1/sys/, OpenBao's, so that `bao operator raft
// snapshot save|restore [-force]` and HashiCorp's `vault` work unchanged.
const (
	snapshotPath      = "storage/raft/snapshot"
	snapshotForcePath = "storage/raft/snapshot-force"
)

func isSnapshotPath(path string) bool { return path == snapshotPath || path == snapshotForcePath }

// snapshotAPI serves GET sys/storage/raft/snapshot (save: read and sudo)
// and POST or PUT sys/storage/raft/snapshot[-force] (restore: update and
// sudo), as Vault does: a token that may take backups cannot restore one.
// Root has all of them.
func (s *Server) snapshotAPI(w http.ResponseWriter, r *http.Request, path string) error {
	need := capRead
	if r.Method != http.MethodGet {
		need = capUpdate
	}
	t, err := s.authorized(r.Context(), r, capSudo, "sys/"+path, "sys/")
	if err != nil {
		return err
	}
	if err := s.policies.authorize(r.Context(), r, t, need, "sys/"+path, "sys/"); err != nil {
		return err
	}
	switch {
	case path == snapshotPath && r.Method == http.MethodGet:
		return s.snapshotSave(w, r)
	case r.Method == http.MethodPost || r.Method == http.MethodPut:
		return s.snapshotRestore(w, r, path == snapshotForcePath)
	}
	return errUnsupported
}

func (s *Server) snapshotSave(w http.ResponseWriter, r *http.Request) error {
	out := &lazyHeader{w: w}
	key, err := s.snapshotKey(r.Context())
	if err != nil {
		return err
	}
	sum, err := vaultsnap.Save(r.Context(), s.st.DB, out, "vault-sys "+Version, key)
	if err != nil {
		if errors.Is(err, vaultsnap.ErrNotInitialized) {
			return badRequest("%v", err)
		}
		if errors.Is(err, errResponseWithheld) {
			return nil // the audit's error response went out instead
		}
		if !out.started {
			return err
		}
		// The status is out: only a cut stream tells the client, whose
		// check of the last member (SHA256SUMS.sealed) then fails.
		obs.Log(r.Context()).Error("snapshot failed mid-stream", "err", err)
		panic(http.ErrAbortHandler)
	}
	obs.Log(r.Context()).Info("snapshot saved", "seal_generation", sum.Meta.SealGeneration, "records", sum.Counts)
	return nil
}

// snapshotKey is the key that MACs snapshots: the record key, nil while
// sealed (a snapshot is then taken without a MAC, and restored only forced).
func (s *Server) snapshotKey(ctx context.Context) ([]byte, error) {
	key, err := s.tokens.keys.Get(ctx)
	if errors.As(err, new(keeper.SealedError)) {
		return nil, nil
	}
	if err != nil {
		return nil, apiError(err)
	}
	return key, nil
}

// lazyHeader writes the snapshot's headers with its first byte, so an error
// before then is still an ordinary error response.
type lazyHeader struct {
	w       http.ResponseWriter
	started bool
}

func (l *lazyHeader) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		l.w.Header().Set("Content-Type", "application/gzip")
		l.w.Header().Set("Content-Disposition", `attachment; filename="secretumvault.snap"`)
		l.w.WriteHeader(http.StatusOK)
	}
	return l.w.Write(p)
}

func (s *Server) snapshotRestore(w http.ResponseWriter, r *http.Request, force bool) error {
	body := &bodyErr{r: r.Body}
	key, err := s.snapshotKey(r.Context())
	if err != nil {
		return err
	}
	sum, err := vaultsnap.Restore(r.Context(), s.st.DB, body, force, key)
	var mbe *http.MaxBytesError
	var inv *vaultsnap.InvalidError
	switch {
	case errors.As(body.err, &mbe):
		return httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large",
			"snapshot exceeds %d bytes (the limit of this route); nothing was restored", mbe.Limit)
	case errors.As(err, &inv):
		return badRequest("%s; nothing was restored", inv.Error())
	case err != nil:
		return err
	}
	s.tokens.recent.Clear()
	obs.Log(r.Context()).Warn("snapshot restored; the vault is sealed until unsealed with the snapshot's shares",
		"snapshot_created_at", sum.Meta.CreatedAt, "snapshot_seal_generation", sum.Meta.SealGeneration, "records", sum.Counts)
	noContent(w)
	return nil
}

// bodyErr remembers the error reading a request body ended with.
type bodyErr struct {
	r   io.Reader
	err error
}

func (b *bodyErr) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}
