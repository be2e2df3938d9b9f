package transit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// keyRequest is a request about one named key.
type keyRequest struct {
	e    *Engine
	ctx  context.Context
	req  keeper.EngineRequest
	f    engine.Fields
	p    engine.Params // what the path captured
	path string
	name string
}

// existing loads the key or fails with the message OpenBao gives for what.
func (k keyRequest) existing(what string) (*Policy, error) {
	p, err := k.e.recent(k.ctx, k.path)
	if err == nil && p == nil {
		err = invalid("%s key not found", what)
	}
	return p, err
}

func (k keyRequest) read() (keeper.EngineResponse, error) {
	p, _, err := k.e.load(k.ctx, k.path)
	if err != nil || p == nil {
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.NotFound()
	}
	return describe(p)
}

func (k keyRequest) rotate() (keeper.EngineResponse, error) {
	return k.update(func(p *Policy) error { return p.Rotate() })
}

// optionsFrom reads the creation settings of keys/<n> (and of encrypt's upsert).
func optionsFrom(f engine.Fields) (PolicyOptions, error) {
	var o PolicyOptions
	var errs []error
	get := func(err error) { errs = append(errs, err) }
	typ, err := f.String("type")
	get(err)
	if typ != "" {
		o.Type, err = ParseKeyType(typ)
		get(err)
	}
	o.Derived, err = f.Bool("derived")
	get(err)
	o.ConvergentEncryption, err = f.Bool("convergent_encryption")
	get(err)
	o.Exportable, err = f.Bool("exportable")
	get(err)
	o.AllowPlaintextBackup, err = f.Bool("allow_plaintext_backup")
	get(err)
	o.KeySize, err = f.Int("key_size")
	get(err)
	o.AutoRotatePeriod, err = f.Duration("auto_rotate_period")
	get(err)
	return o, engine.First(errs...)
}

func (k keyRequest) create() (keeper.EngineResponse, error) {
	o, err := optionsFrom(k.f)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	// Creating an existing key changes nothing, as in Vault; but asking for
	// another type is an error, so that nobody believes they hold a key of
	// the type they asked for (say ml-kem-768) when the name is an AES key.
	if existing, _, err := k.e.load(k.ctx, k.path); err != nil {
		return keeper.EngineResponse{}, err
	} else if existing != nil && o.Type != "" && existing.Type != o.Type {
		return keeper.EngineResponse{}, invalid("key %q already exists with type %s, not %s: delete it (deletion_allowed) or choose another name",
			k.name, existing.Type, o.Type)
	}
	p, err := k.createWith(o)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return describe(p)
}

// createWith creates the key unless it exists; creating an existing key
// changes nothing, as in Vault.
func (k keyRequest) createWith(o PolicyOptions) (*Policy, error) {
	if existing, _, err := k.e.load(k.ctx, k.path); err != nil || existing != nil {
		return existing, err
	}
	p, err := NewPolicy(k.name, o)
	if err != nil {
		return nil, err
	}
	if err := k.e.save(k.ctx, k.path, p, 0); err != nil {
		if !errors.Is(err, storage.ErrConflict) {
			return nil, err
		}
		// Created concurrently: the other one stands.
		return k.existing("encryption")
	}
	return p, nil
}

// update applies change to the stored key, retrying on a concurrent write.
func (k keyRequest) update(change func(*Policy) error) (keeper.EngineResponse, error) {
	for attempt := 0; ; attempt++ {
		p, rev, err := k.e.load(k.ctx, k.path)
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		if p == nil {
			return keeper.EngineResponse{}, invalid("key not found")
		}
		// Change a copy: the cached key serves other requests meanwhile.
		c, err := p.clone()
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		if err := change(c); err != nil {
			return keeper.EngineResponse{}, err
		}
		err = k.e.save(k.ctx, k.path, c, rev)
		if err == nil {
			return describe(c)
		}
		if !errors.Is(err, storage.ErrConflict) || attempt == 4 {
			return keeper.EngineResponse{}, err
		}
	}
}

// clone deep-copies a policy through its stored form.
func (p *Policy) clone() (*Policy, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	c := &Policy{}
	return c, json.Unmarshal(raw, c)
}

func (k keyRequest) configure() (keeper.EngineResponse, error) {
	var c Config
	var errs []error
	intField := func(name string) *int {
		if !k.f.Has(name) {
			return nil
		}
		n, err := k.f.Int(name)
		errs = append(errs, err)
		return &n
	}
	boolField := func(name string) *bool {
		if !k.f.Has(name) {
			return nil
		}
		b, err := k.f.Bool(name)
		errs = append(errs, err)
		return &b
	}
	c.MinDecryptionVersion = intField("min_decryption_version")
	c.MinEncryptionVersion = intField("min_encryption_version")
	c.DeletionAllowed = boolField("deletion_allowed")
	c.Exportable = boolField("exportable")
	c.AllowPlaintextBackup = boolField("allow_plaintext_backup")
	if k.f.Has("auto_rotate_period") {
		d, err := k.f.Duration("auto_rotate_period")
		errs = append(errs, err)
		c.AutoRotatePeriod = &d
	}
	if err := engine.First(errs...); err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.update(func(p *Policy) error { return p.Configure(c) })
}

func (k keyRequest) trim() (keeper.EngineResponse, error) {
	n, err := k.f.Int("min_available_version")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.update(func(p *Policy) error { return p.Trim(n) })
}

func (k keyRequest) delete() (keeper.EngineResponse, error) {
	p, _, err := k.e.load(k.ctx, k.path)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if p == nil {
		return engine.NoContent()
	}
	if !p.DeletionAllowed {
		return keeper.EngineResponse{}, invalid("deletion is not allowed for this key")
	}
	if err := k.e.st.Delete(k.ctx, k.path); err != nil {
		return keeper.EngineResponse{}, err
	}
	k.e.remember(k.path, 0, nil)
	storage.Settle(k.ctx)
	return engine.NoContent()
}

// describe is what reading keys/<n> shows.
func describe(p *Policy) (keeper.EngineResponse, error) {
	keys := map[string]any{}
	for _, n := range p.versions() {
		v := p.Keys[strconv.Itoa(n)]
		if !p.Type.asymmetric() {
			keys[strconv.Itoa(n)] = v.Created.Unix()
			continue
		}
		pub, err := v.publicKey(p.Type)
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		entry := map[string]any{"name": p.Type.keyName(), "public_key": pub,
			"creation_time": v.Created.Format("2006-01-02T15:04:05.999999999Z07:00")}
		if _, ok := spkiOID(p.Type); ok {
			raw, _ := base64.StdEncoding.DecodeString(pub)
			if entry["public_key_pem"], err = publicKeyPEM(p.Type, raw); err != nil {
				return keeper.EngineResponse{}, err
			}
		}
		keys[strconv.Itoa(n)] = entry
	}
	d := map[string]any{
		"name": p.Name, "type": p.Type, "keys": keys, "latest_version": p.LatestVersion,
		"min_decryption_version": p.MinDecryptionVersion, "min_encryption_version": p.MinEncryptionVersion,
		"min_available_version": p.versions()[0], "deletion_allowed": p.DeletionAllowed, "derived": p.Derived,
		"exportable": p.Exportable, "allow_plaintext_backup": p.AllowPlaintextBackup,
		"supports_encryption": p.Type.canEncrypt(), "supports_decryption": p.Type.canEncrypt(),
		"supports_derivation": p.Type.symmetric(), "supports_signing": p.Type.canSign(),
		"auto_rotate_period": int64(p.AutoRotatePeriod.Seconds()), "imported_key": false, "soft_deleted": false,
		"post_quantum": p.Type.postQuantum(),
	}
	if p.Derived { // as OpenBao, the derivation keys only for a derived key
		d["kdf"], d["convergent_encryption"] = "hkdf_sha256", p.ConvergentEncryption
	}
	if p.ConvergentEncryption {
		d["convergent_encryption_version"] = 3
	}
	return engine.OK(d)
}
