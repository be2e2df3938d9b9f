package vault

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// mergePatchType is the only body PATCH takes, as in Vault (RFC 7396).
const mergePatchType = "application/merge-patch+json"

func requireMergePatch(r *http.Request) error {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != mergePatchType {
		return httpapi.Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type",
			"PATCH requires Content-Type %s, got %q", mergePatchType, r.Header.Get("Content-Type"))
	}
	return nil
}

// mergePatch applies an RFC 7396 JSON merge patch to target: null removes a
// key, an object merges into an object, anything else replaces.
func mergePatch(target, patch map[string]any) map[string]any {
	if target == nil {
		target = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(target, k)
		case map[string]any:
			tv, _ := target[k].(map[string]any)
			target[k] = mergePatch(tv, pv)
		default:
			target[k] = v
		}
	}
	return target
}

// patch merges the body's data into the current version and stores the
// result as a new version: Vault's PATCH on data/<path>, which `kv patch`
// sends. It needs the patch capability; a missing, deleted or destroyed
// current version is a 404.
func (k kv2) patch(ctx context.Context) error {
	if err := requireMergePatch(k.r); err != nil {
		return err
	}
	var body kvWriteBody
	if err := decodeBody(k.r, &body); err != nil {
		return err
	}
	if body.Data == nil {
		return badRequest("no data provided")
	}
	if err := k.auth(capPatch); err != nil {
		return err
	}
	cfg, meta, rev, err := k.load(ctx)
	if err != nil {
		return err
	}
	if meta == nil {
		return errNotFound
	}
	vm, ok := meta.Versions[strconv.Itoa(meta.CurrentVersion)]
	now := time.Now().UTC()
	if !ok || vm.Destroyed || vm.deleted(now) {
		return errNotFound
	}
	if err := checkCAS(cfg, meta, body.Options.CAS); err != nil {
		return err
	}
	current, err := k.versionData(ctx, meta, meta.CurrentVersion)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(mergePatch(current, body.Data))
	if len(raw) > maxKVSecret {
		return httpapi.Errorf(http.StatusRequestEntityTooLarge, "too_large", "secret exceeds %d bytes", maxKVSecret)
	}
	return k.commitVersion(ctx, cfg, meta, rev, now, raw)
}

// versionData opens one version's data.
func (k kv2) versionData(ctx context.Context, meta *kvMeta, version int) (map[string]any, error) {
	raw := []byte(meta.Latest)
	if version != meta.CurrentVersion || raw == nil {
		got, err := k.st.Get(ctx, k.versionPath(version))
		if err != nil {
			return nil, apiError(err)
		}
		e, ok := got[k.versionPath(version)]
		if !ok {
			return nil, errNotFound
		}
		raw = e.Data
	}
	var data map[string]any
	if err := json.Unmarshal(raw, &data); err != nil {
		return nil, fmt.Errorf("decode version %d of %q: %w", version, k.key, err)
	}
	return data, nil
}

// checkMetadataCAS applies OpenBao's check-and-set on metadata writes.
func checkMetadataCAS(cfg kvConfig, meta *kvMeta, cas *int) error {
	switch {
	case cas == nil && (cfg.MetadataCASRequired || meta.MetadataCASRequired):
		return badRequest("check-and-set parameter required for this call")
	case cas != nil && *cas != meta.MetadataVersion:
		return badRequest("check-and-set parameter did not match the current metadata version")
	}
	return nil
}

// patchMeta merges the body into an existing key's metadata (`kv metadata
// patch`): the settings given replace, custom_metadata merges key by key and
// a null removes one.
func (k kv2) patchMeta(ctx context.Context) error {
	if err := requireMergePatch(k.r); err != nil {
		return err
	}
	var body struct {
		kvSettings
		CustomMetadata map[string]any `json:"custom_metadata"`
		CAS            *int           `json:"cas"`
	}
	if err := decodeBody(k.r, &body); err != nil {
		return err
	}
	if err := k.auth(capPatch); err != nil {
		return err
	}
	cfg, meta, rev, err := k.load(ctx)
	if err != nil {
		return err
	}
	if meta == nil {
		return errNotFound
	}
	if err := checkMetadataCAS(cfg, meta, body.CAS); err != nil {
		return err
	}
	if err := body.applyTo(&meta.kvConfig); err != nil {
		return err
	}
	if body.CustomMetadata != nil {
		custom := map[string]any{}
		for key, v := range meta.CustomMetadata {
			custom[key] = v
		}
		meta.CustomMetadata = map[string]string{}
		for key, v := range mergePatch(custom, body.CustomMetadata) {
			s, ok := v.(string)
			if !ok {
				return badRequest("custom_metadata %q: values must be strings", key)
			}
			meta.CustomMetadata[key] = s
		}
	}
	meta.UpdatedTime = time.Now().UTC()
	meta.MetadataVersion++
	if err := k.st.Put(ctx, k.saveMeta(meta, rev)...); err != nil {
		return apiError(err)
	}
	noContent(k.w)
	return nil
}
