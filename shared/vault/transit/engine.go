package transit

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stratumiops/stratumiops/shared/vault/engine"
	"github.com/stratumiops/stratumiops/shared/vault/keeper"
	"github.com/stratumiops/stratumiops/shared/vault/storage"
)

// Engine serves transit mounts inside vault-crypto. Keys are stored sealed
// by the barrier at logical/<mount uuid>/policy/<name>; each instance keeps
// the keys it has opened. A change to a key checks its revision first; the
// operations that use a key (encrypt, sign…) rely on a revision confirmed
// within storage.ReadTTL, so a rotation by another instance is seen within it.
type Engine struct {
	st *storage.Store

	mu    sync.Mutex
	cache map[string]cachedPolicy
}

type cachedPolicy struct {
	rev     int
	p       *Policy
	checked time.Time // when rev was last confirmed against storage
}

// New returns a transit engine over st (sealed by the keeper itself).
func New(st *storage.Store) *Engine { return &Engine{st: st, cache: map[string]cachedPolicy{}} }

// Forget drops every cached key (keeper.Forgetter): the seal generation
// changed, and storage may hold other keys under the same revisions.
func (e *Engine) Forget() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.cache)
}

// keyName is Vault's generic name: word characters, dots and dashes.
var keyName = regexp.MustCompile(`^\w([\w.-]*\w)?$`)

func policyPath(mount, name string) string { return "logical/" + mount + "/policy/" + name }

// maxRandomBytes bounds random/<n>, as Vault does.
const maxRandomBytes = 128 * 1024

// Serve routes one request.
func (e *Engine) Serve(ctx context.Context, req keeper.EngineRequest) (keeper.EngineResponse, error) {
	f, err := engine.ParseFields(req.Body)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	parts := strings.Split(req.Path, "/")
	op, args := parts[0], parts[1:]
	write := req.Operation == "update"
	switch {
	case op == "keys" && len(args) == 0 && (req.Operation == "list" || req.Operation == "read"):
		return engine.ListKeys(ctx, e.st, policyPath(req.MountUUID, ""))
	case op == "random" && write && len(args) <= 2:
		return random(f, args)
	case op == "hash" && write && len(args) <= 1:
		return hash(f, args)
	}
	// Everything else names a key: keys/<n>[/<action>], export/<type>/<n>[/<version>],
	// <op>/<n>[/<algorithm>], datakey/<kind>/<n>.
	nameAt := map[string]int{"keys": 0, "encrypt": 0, "decrypt": 0, "rewrap": 0, "sign": 0, "verify": 0, "hmac": 0, "datakey": 1, "export": 1}
	i, ok := nameAt[op]
	if !ok || len(args) <= i {
		return engine.Unsupported()
	}
	name := args[i]
	if !keyName.MatchString(name) {
		return keeper.EngineResponse{}, invalid("invalid key name %q", name)
	}
	k := keyRequest{e: e, ctx: ctx, req: req, f: f, path: policyPath(req.MountUUID, name), name: name}
	extra := args[i+1:]
	switch {
	case op == "keys" && len(extra) == 0:
		switch req.Operation {
		case "read":
			return k.read()
		case "update":
			return k.create()
		case "delete":
			return k.delete()
		}
	case op == "keys" && len(extra) == 1 && write:
		switch extra[0] {
		case "rotate":
			return k.update(func(p *Policy) error { return p.Rotate() })
		case "config":
			return k.configure()
		case "trim":
			return k.trim()
		}
	case op == "export" && len(extra) <= 1 && req.Operation == "read":
		return k.export(args[0], extra)
	case write && len(extra) == 0 && op == "encrypt":
		return k.encrypt()
	case write && len(extra) == 0 && op == "decrypt":
		return k.decrypt()
	case write && len(extra) == 0 && op == "rewrap":
		return k.rewrap()
	case write && len(extra) == 0 && op == "datakey":
		return k.datakey(args[0])
	case write && len(extra) <= 1 && (op == "sign" || op == "verify" || op == "hmac"):
		if len(extra) == 1 {
			f["hash_algorithm"], f["algorithm"] = extra[0], extra[0]
		}
		switch op {
		case "sign":
			return k.sign()
		case "verify":
			return k.verify()
		}
		return k.hmac()
	}
	return engine.Unsupported()
}

// load returns the key at path, from the cache when its revision is current;
// nil when there is none.
func (e *Engine) load(ctx context.Context, path string) (*Policy, int, error) {
	rev, err := e.st.Revision(ctx, path)
	if err != nil || rev == 0 {
		return nil, 0, err
	}
	e.mu.Lock()
	c, ok := e.cache[path]
	if ok && c.rev == rev {
		c.checked = time.Now()
		e.cache[path] = c
	}
	e.mu.Unlock()
	if ok && c.rev == rev {
		return c.p, rev, nil
	}
	p := &Policy{}
	rev, err = e.st.GetJSON(ctx, path, p)
	if err != nil || rev == 0 {
		return nil, 0, err
	}
	e.remember(path, rev, p)
	return p, rev, nil
}

func (e *Engine) remember(path string, rev int, p *Policy) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p == nil {
		delete(e.cache, path)
		return
	}
	e.cache[path] = cachedPolicy{rev: rev, p: p, checked: time.Now()}
}

// recent is load for the operations that use a key: a key whose revision
// was confirmed within storage.ReadTTL is used as it is.
func (e *Engine) recent(ctx context.Context, path string) (*Policy, error) {
	e.mu.Lock()
	c, ok := e.cache[path]
	e.mu.Unlock()
	if ok && time.Since(c.checked) < storage.ReadTTL {
		return c.p, nil
	}
	p, _, err := e.load(ctx, path)
	return p, err
}

// save writes p conditionally on rev (0 creates); a lost race is ErrConflict.
func (e *Engine) save(ctx context.Context, path string, p *Policy, rev int) error {
	if err := e.st.PutJSON(ctx, path, p, rev); err != nil {
		e.remember(path, 0, nil)
		return err
	}
	e.remember(path, rev+1, p)
	if rev > 0 { // a changed key (a new one was cached nowhere)
		storage.Settle(ctx)
	}
	return nil
}

// keyRequest is a request about one named key.
type keyRequest struct {
	e    *Engine
	ctx  context.Context
	req  keeper.EngineRequest
	f    engine.Fields
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

func (k keyRequest) export(kind string, version []string) (keeper.EngineResponse, error) {
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
		"auto_rotate_period": int64(p.AutoRotatePeriod.Seconds()), "imported_key": false,
		"convergent_encryption": p.ConvergentEncryption, "post_quantum": p.Type.postQuantum(),
	}
	if p.Derived {
		d["kdf"] = "hkdf_sha256"
	}
	if p.ConvergentEncryption {
		d["convergent_encryption_version"] = 3
	}
	return engine.OK(d)
}

// batch runs item on each element of batch_input, or once on the request
// itself. Any failed item makes the answer a 400 that still carries every
// result, as OpenBao answers.
func (k keyRequest) batch(item func(engine.Fields) (map[string]any, error)) (keeper.EngineResponse, error) {
	items, isBatch, err := k.f.Batch()
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if !isBatch {
		out, err := item(k.f)
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		return engine.OK(out)
	}
	results := make([]map[string]any, len(items))
	status := http.StatusOK
	for i, it := range items {
		out, err := item(it)
		if err != nil {
			var inv *keeper.InvalidError
			if !errors.As(err, &inv) {
				return keeper.EngineResponse{}, err
			}
			out, status = map[string]any{"error": inv.Msg}, http.StatusBadRequest
		}
		if ref, ok := it["reference"]; ok {
			out["reference"] = ref
		}
		results[i] = out
	}
	return engine.WithStatus(status, map[string]any{"batch_results": results})
}

func (k keyRequest) encrypt() (keeper.EngineResponse, error) {
	p, err := k.e.recent(k.ctx, k.path)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if p == nil {
		// Encrypting with a key that does not exist creates it, which the
		// caller must be allowed to do.
		if !engine.Granted(k.req, "create") {
			return keeper.EngineResponse{Requires: "create"}, nil
		}
		o, err := optionsFrom(k.f)
		if err != nil {
			return keeper.EngineResponse{}, err
		}
		if ctx, _ := k.f.String("context"); ctx != "" && !k.f.Has("derived") {
			o.Derived = true
		}
		if p, err = k.createWith(o); err != nil {
			return keeper.EngineResponse{}, err
		}
		res, err := k.encryptWith(p)
		// OpenBao creates it too, silently; we say so.
		res.Warnings = append(res.Warnings, fmt.Sprintf("key %q did not exist and was created with type %s", k.name, p.Type))
		return res, err
	}
	return k.encryptWith(p)
}

// encryptWith encrypts the request's plaintext (or batch) with p.
func (k keyRequest) encryptWith(p *Policy) (keeper.EngineResponse, error) {
	return k.batch(func(f engine.Fields) (map[string]any, error) {
		plain, err := f.Base64("plaintext")
		if err != nil {
			return nil, err
		}
		if !f.Has("plaintext") {
			return nil, invalid("missing plaintext to encrypt")
		}
		context, err := f.Base64("context")
		if err != nil {
			return nil, err
		}
		version, err := f.Int("key_version")
		if err != nil {
			return nil, err
		}
		ct, v, err := p.Encrypt(version, plain, context)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ciphertext": ct, "key_version": v}, nil
	})
}

func (k keyRequest) decrypt() (keeper.EngineResponse, error) {
	p, err := k.existing("encryption")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.batch(func(f engine.Fields) (map[string]any, error) {
		plain, _, err := openItem(p, f, "decrypt")
		if err != nil {
			return nil, err
		}
		return map[string]any{"plaintext": base64.StdEncoding.EncodeToString(plain)}, nil
	})
}

// openItem decrypts an item's ciphertext under its context; verb names the
// operation in the error for a missing ciphertext.
func openItem(p *Policy, f engine.Fields, verb string) (plain, context []byte, err error) {
	ct, err := f.String("ciphertext")
	if err != nil {
		return nil, nil, err
	}
	if ct == "" {
		return nil, nil, invalid("missing ciphertext to %s", verb)
	}
	if context, err = f.Base64("context"); err != nil {
		return nil, nil, err
	}
	plain, _, err = p.Decrypt(ct, context)
	return plain, context, err
}

func (k keyRequest) rewrap() (keeper.EngineResponse, error) {
	p, err := k.existing("encryption")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.batch(func(f engine.Fields) (map[string]any, error) {
		version, err := f.Int("key_version")
		if err != nil {
			return nil, err
		}
		plain, context, err := openItem(p, f, "rewrap")
		if err != nil {
			return nil, err
		}
		out, v, err := p.Encrypt(version, plain, context)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ciphertext": out, "key_version": v}, nil
	})
}

func (k keyRequest) datakey(kind string) (keeper.EngineResponse, error) {
	if kind != "plaintext" && kind != "wrapped" {
		return keeper.EngineResponse{}, invalid("invalid type %q: want plaintext or wrapped", kind)
	}
	p, err := k.existing("encryption")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	bits, err := k.f.Int("bits")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	switch bits {
	case 0:
		bits = 256
	case 128, 256, 512:
	default:
		return keeper.EngineResponse{}, invalid("invalid bit length %d: want 128, 256 or 512", bits)
	}
	context, err := k.f.Base64("context")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	version, err := k.f.Int("key_version")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	key := make([]byte, bits/8)
	if _, err := rand.Read(key); err != nil {
		return keeper.EngineResponse{}, err
	}
	ct, v, err := p.Encrypt(version, key, context)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	out := map[string]any{"ciphertext": ct, "key_version": v}
	if kind == "plaintext" {
		out["plaintext"] = base64.StdEncoding.EncodeToString(key)
	}
	return engine.OK(out)
}

// signOptions reads sign/verify's options from one item.
func signOptions(f engine.Fields) (SignOptions, error) {
	var o SignOptions
	var errs []error
	var err error
	o.HashAlgorithm, err = f.String("hash_algorithm")
	errs = append(errs, err)
	o.Prehashed, err = f.Bool("prehashed")
	errs = append(errs, err)
	o.SignatureAlgorithm, err = f.String("signature_algorithm")
	errs = append(errs, err)
	o.MarshalingAlgorithm, err = f.String("marshaling_algorithm")
	errs = append(errs, err)
	o.Context, err = f.Base64("context")
	errs = append(errs, err)
	return o, engine.First(errs...)
}

// withDefaults fills an item's missing options from the request's (batch
// items inherit hash_algorithm and the like from the top level).
func (k keyRequest) withDefaults(f engine.Fields) engine.Fields {
	for _, name := range []string{"hash_algorithm", "algorithm", "prehashed", "signature_algorithm", "marshaling_algorithm", "context", "key_version"} {
		if !f.Has(name) && k.f.Has(name) {
			f[name] = k.f[name]
		}
	}
	return f
}

func (k keyRequest) sign() (keeper.EngineResponse, error) {
	p, err := k.existing("signing")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.batch(func(f engine.Fields) (map[string]any, error) {
		f = k.withDefaults(f)
		o, err := signOptions(f)
		if err != nil {
			return nil, err
		}
		input, err := f.Base64("input")
		if err != nil {
			return nil, err
		}
		version, err := f.Int("key_version")
		if err != nil {
			return nil, err
		}
		sig, v, err := p.Sign(version, input, o)
		if err != nil {
			return nil, err
		}
		pub, err := p.Keys[strconv.Itoa(v)].publicKey(p.Type)
		if err != nil {
			return nil, err
		}
		return map[string]any{"signature": sig, "key_version": v, "public_key": pub}, nil
	})
}

func (k keyRequest) verify() (keeper.EngineResponse, error) {
	p, err := k.existing("signature verification")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.batch(func(f engine.Fields) (map[string]any, error) {
		f = k.withDefaults(f)
		input, err := f.Base64("input")
		if err != nil {
			return nil, err
		}
		sig, _ := f.String("signature")
		mac, _ := f.String("hmac")
		switch {
		case sig != "" && mac != "":
			return nil, invalid("provide one of 'signature' or 'hmac', not both")
		case mac != "":
			alg, err := f.String("algorithm")
			if err != nil {
				return nil, err
			}
			ok, err := p.VerifyHMAC(alg, input, mac)
			if err != nil {
				return nil, err
			}
			return map[string]any{"valid": ok}, nil
		case sig == "":
			return nil, invalid("missing signature or hmac to verify")
		}
		o, err := signOptions(f)
		if err != nil {
			return nil, err
		}
		ok, err := p.Verify(input, sig, o)
		if err != nil {
			return nil, err
		}
		return map[string]any{"valid": ok}, nil
	})
}

func (k keyRequest) hmac() (keeper.EngineResponse, error) {
	p, err := k.existing("HMAC")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	return k.batch(func(f engine.Fields) (map[string]any, error) {
		f = k.withDefaults(f)
		input, err := f.Base64("input")
		if err != nil {
			return nil, err
		}
		alg, err := f.String("algorithm")
		if err != nil {
			return nil, err
		}
		version, err := f.Int("key_version")
		if err != nil {
			return nil, err
		}
		mac, v, err := p.HMAC(version, alg, input)
		if err != nil {
			return nil, err
		}
		return map[string]any{"hmac": mac, "key_version": v}, nil
	})
}

// random serves random[/<source>][/<bytes>].
func random(f engine.Fields, args []string) (keeper.EngineResponse, error) {
	n, err := f.Int("bytes")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	format, err := f.String("format")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	for _, a := range args {
		switch a {
		case "platform", "seal", "all":
		default:
			if n, err = strconv.Atoi(a); err != nil {
				return keeper.EngineResponse{}, invalid("invalid URL input: %q is neither a source nor a byte count", a)
			}
		}
	}
	if n == 0 {
		n = 32
	}
	if n < 1 || n > maxRandomBytes {
		return keeper.EngineResponse{}, invalid("bytes must be between 1 and %d", maxRandomBytes)
	}
	b := randomBytes(n)
	switch format {
	case "", "base64":
		return engine.OK(map[string]any{"random_bytes": base64.StdEncoding.EncodeToString(b)})
	case "hex":
		return engine.OK(map[string]any{"random_bytes": hex.EncodeToString(b)})
	}
	return keeper.EngineResponse{}, invalid("unsupported encoding format %q; must be \"hex\" or \"base64\"", format)
}

// hash serves hash[/<algorithm>].
func hash(f engine.Fields, args []string) (keeper.EngineResponse, error) {
	alg, err := f.String("algorithm")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if len(args) == 1 {
		alg = args[0]
	}
	h, err := hashByName(alg)
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	if !f.Has("input") {
		return keeper.EngineResponse{}, invalid("missing input to hash")
	}
	input, err := f.Base64("input")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	format, err := f.String("format")
	if err != nil {
		return keeper.EngineResponse{}, err
	}
	w := h.New()
	w.Write(input)
	sum := w.Sum(nil)
	switch format {
	case "", "hex":
		return engine.OK(map[string]any{"sum": hex.EncodeToString(sum)})
	case "base64":
		return engine.OK(map[string]any{"sum": base64.StdEncoding.EncodeToString(sum)})
	}
	return keeper.EngineResponse{}, invalid("unsupported encoding format %q; must be \"hex\" or \"base64\"", format)
}
