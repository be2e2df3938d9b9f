package kv

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
)

// config is a mount's settings (config), and a key's own over them.
type config struct {
	MaxVersions         int    `json:"max_versions"`
	CASRequired         bool   `json:"cas_required"`
	DeleteVersionAfter  string `json:"delete_version_after"`
	MetadataCASRequired bool   `json:"metadata_cas_required"` // OpenBao's: metadata writes need cas
}

// settings are the optional settings of a config or metadata write.
type settings struct {
	MaxVersions         *int  `json:"max_versions"`
	CASRequired         *bool `json:"cas_required"`
	DeleteVersionAfter  any   `json:"delete_version_after"`
	MetadataCASRequired *bool `json:"metadata_cas_required"`
}

// applyTo sets the given settings on c, refusing invalid ones.
func (s settings) applyTo(c *config) error {
	if s.MaxVersions != nil {
		if *s.MaxVersions < 0 {
			return invalid("max_versions cannot be negative")
		}
		c.MaxVersions = *s.MaxVersions
	}
	if s.CASRequired != nil {
		c.CASRequired = *s.CASRequired
	}
	if s.MetadataCASRequired != nil {
		c.MetadataCASRequired = *s.MetadataCASRequired
	}
	if s.DeleteVersionAfter != nil {
		d, err := engine.ParseDuration(s.DeleteVersionAfter)
		if err != nil {
			return invalid("invalid delete_version_after: %v", err)
		}
		c.DeleteVersionAfter = d.String()
	}
	return nil
}

type versionMeta struct {
	CreatedTime  time.Time  `json:"created_time"`
	DeletionTime *time.Time `json:"deletion_time,omitempty"`
	Destroyed    bool       `json:"destroyed"`
}

// meta is a key's metadata record.
type meta struct {
	config                           // the key's own settings, over the mount's
	CustomMetadata map[string]string `json:"custom_metadata"`
	CreatedTime    time.Time         `json:"created_time"`
	UpdatedTime    time.Time         `json:"updated_time"`
	CurrentVersion int               `json:"current_version"`
	OldestVersion  int               `json:"oldest_version"` // 0 until versions are trimmed, as Vault
	// MetadataVersion counts writes of the metadata itself (OpenBao's
	// current_metadata_version, which a metadata write's cas must match).
	MetadataVersion int                     `json:"metadata_version"`
	Versions        map[string]*versionMeta `json:"versions"`
	// Latest is the current version's data, also kept here (sealed with the
	// metadata, written in the same transaction) so that reading the latest
	// version takes one fetch and one vault-crypto call instead of two each.
	Latest json.RawMessage `json:"latest,omitempty"`
}

func (v *versionMeta) deleted(now time.Time) bool {
	return v.DeletionTime != nil && !v.DeletionTime.After(now)
}

func (v *versionMeta) deletion() string {
	if v.DeletionTime == nil {
		return ""
	}
	return engine.VaultTime(*v.DeletionTime)
}

func (v *versionMeta) view(version int, custom map[string]string) map[string]any {
	var cm any
	if len(custom) > 0 {
		cm = custom
	}
	return map[string]any{"created_time": engine.VaultTime(v.CreatedTime), "deletion_time": v.deletion(),
		"destroyed": v.Destroyed, "version": version, "custom_metadata": cm}
}

func (m *meta) view() map[string]any {
	versions := map[string]any{}
	for k, v := range m.Versions {
		versions[k] = map[string]any{"created_time": engine.VaultTime(v.CreatedTime), "deletion_time": v.deletion(), "destroyed": v.Destroyed}
	}
	var cm any
	if len(m.CustomMetadata) > 0 {
		cm = m.CustomMetadata
	}
	dva := m.DeleteVersionAfter
	if dva == "" {
		dva = "0s"
	}
	return map[string]any{
		"cas_required": m.CASRequired, "created_time": engine.VaultTime(m.CreatedTime), "current_version": m.CurrentVersion,
		"custom_metadata": cm, "delete_version_after": dva, "max_versions": m.MaxVersions,
		"oldest_version": m.OldestVersion, "updated_time": engine.VaultTime(m.UpdatedTime), "versions": versions,
		"current_metadata_version": m.MetadataVersion, "metadata_cas_required": m.MetadataCASRequired,
	}
}

// checkMetadataCAS applies OpenBao's check-and-set on metadata writes.
func checkMetadataCAS(cfg config, m *meta, cas *int) error {
	switch {
	case cas == nil && (cfg.MetadataCASRequired || m.MetadataCASRequired):
		return invalid("check-and-set parameter required for this call")
	case cas != nil && *cas != m.MetadataVersion:
		return invalid("check-and-set parameter did not match the current metadata version")
	}
	return nil
}

func (k v2) readMeta() (keeper.EngineResponse, error) {
	if err := k.req.Authorize(capRead); err != nil {
		return keeper.EngineResponse{}, err
	}
	cfg, m, _, err := k.load()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if m == nil {
		return engine.NotFound()
	}
	if m.MaxVersions == 0 {
		m.MaxVersions = cfg.MaxVersions
	}
	return engine.OK(m.view())
}

func (k v2) writeMeta() (keeper.EngineResponse, error) {
	var body struct {
		settings
		CustomMetadata map[string]string `json:"custom_metadata"`
		CAS            *int              `json:"cas"`
	}
	if err := engine.DecodeJSON(k.req.Body, &body); err != nil {
		return keeper.EngineResponse{}, err
	}
	cfg, m, rev, now, err := k.loadForWrite()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := checkMetadataCAS(cfg, m, body.CAS); err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := body.applyTo(&m.config); err != nil {
		return keeper.EngineResponse{}, err
	}
	if body.CustomMetadata != nil {
		m.CustomMetadata = body.CustomMetadata
	}
	// As Vault, a lower max_versions trims on the key's next write, not now.
	m.UpdatedTime = now
	m.MetadataVersion++
	if err := k.e.st.Put(k.ctx, k.saveMeta(m, rev)...); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}

// patchMeta merges the body into an existing key's metadata (`kv metadata
// patch`): the settings given replace, custom_metadata merges key by key and
// a null removes one.
func (k v2) patchMeta() (keeper.EngineResponse, error) {
	if err := k.requireMergePatch(); err != nil {
		return keeper.EngineResponse{}, err
	}
	var body struct {
		settings
		CustomMetadata map[string]any `json:"custom_metadata"`
		CAS            *int           `json:"cas"`
	}
	if err := engine.DecodeJSON(k.req.Body, &body); err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := k.req.Authorize(capPatch); err != nil {
		return keeper.EngineResponse{}, err
	}
	cfg, m, rev, err := k.load()
	if err != nil || m == nil {
		return notFoundOr(err)
	}
	if err := checkMetadataCAS(cfg, m, body.CAS); err != nil {
		return keeper.EngineResponse{}, err
	}
	if err := body.applyTo(&m.config); err != nil {
		return keeper.EngineResponse{}, err
	}
	if body.CustomMetadata != nil {
		if err := m.patchCustom(body.CustomMetadata); err != nil {
			return keeper.EngineResponse{}, err
		}
	}
	m.UpdatedTime = time.Now().UTC()
	m.MetadataVersion++
	if err := k.e.st.Put(k.ctx, k.saveMeta(m, rev)...); err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NoContent()
}

// patchCustom merges patch into the custom metadata, whose values are strings.
func (m *meta) patchCustom(patch map[string]any) error {
	custom := map[string]any{}
	for key, v := range m.CustomMetadata {
		custom[key] = v
	}
	m.CustomMetadata = map[string]string{}
	for key, v := range MergePatch(custom, patch) {
		s, ok := v.(string)
		if !ok {
			return invalid("custom_metadata %q: values must be strings", key)
		}
		m.CustomMetadata[key] = s
	}
	return nil
}

func (k v2) deleteAll() (keeper.EngineResponse, error) {
	if err := k.req.Authorize(capDelete); err != nil {
		return keeper.EngineResponse{}, err
	}
	_, m, _, err := k.load()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if m != nil {
		paths := []string{k.metaPath()}
		for s := range m.Versions {
			v, _ := strconv.Atoi(s)
			paths = append(paths, k.versionPath(v))
		}
		if err := k.e.st.Delete(k.ctx, paths...); err != nil {
			return keeper.EngineResponse{}, err
		}
	}
	return engine.NoContent()
}

// notFoundOr answers err, or Vault's plain 404 when there is none.
func notFoundOr(err error) (keeper.EngineResponse, error) {
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return engine.NotFound()
}
