package vault

import (
	"bytes"
	"context"
	"log/slog"

	"github.com/stratumiops/stratumiops/shared/vault/integrity"
)

// mountMACFields are what a mount's MAC covers: all of it. An edited uuid
// would point a path at another mount's storage; an edited type would serve
// it with another engine.
type mountMACFields struct {
	Path, Type, Description, Accessor, UUID string
	Options                                 map[string]string
	Config                                  mountConfig
}

func mountFieldsOf(m *Mount) mountMACFields {
	f := mountMACFields{Path: m.Path, Type: m.Type, Description: m.Description, Accessor: m.Accessor, UUID: m.UUID,
		Options: m.Options, Config: m.Config}
	if f.Options == nil {
		f.Options = map[string]string{}
	}
	return f
}

// seal sets m's MAC.
func (ms *mounts) seal(ctx context.Context, m *Mount) error {
	key, err := ms.keys.Get(ctx)
	if err != nil {
		return apiError(err)
	}
	m.MAC, err = integrity.Sum(key, "mount", m.Path, mountFieldsOf(m))
	return err
}

// check refuses the request when any mount was edited outside the vault:
// routing by a mount table someone rewrote is not safe for any path.
func (ms *mounts) check(ctx context.Context, list []Mount) error {
	if len(list) == 0 {
		return nil
	}
	key, err := ms.keys.Get(ctx)
	if err != nil {
		return apiError(err)
	}
	return ms.checkWith(ctx, key, list)
}

// checkSnapshot checks the mounts of a snapshot, once per MAC key.
func (ms *mounts) checkSnapshot(ctx context.Context, snap *snapshot) error {
	if len(snap.Mounts) == 0 {
		return nil
	}
	key, err := ms.keys.Get(ctx)
	if err != nil {
		return apiError(err)
	}
	if done := snap.checkedWith.Load(); done != nil && bytes.Equal(*done, key) {
		return nil
	}
	if err := ms.checkWith(ctx, key, snap.Mounts); err != nil {
		return err
	}
	checked := bytes.Clone(key)
	snap.checkedWith.Store(&checked)
	return nil
}

func (ms *mounts) checkWith(ctx context.Context, key []byte, list []Mount) error {
	for i := range list {
		if err := integrity.Check(key, "mount", list[i].Path, mountFieldsOf(&list[i]), list[i].MAC); err != nil {
			slog.ErrorContext(ctx, "mount record refused", "mount", list[i].Path, "err", err)
			return errPermissionDenied
		}
	}
	return nil
}
