package transit

import (
	"crypto/hkdf"
	"crypto/sha256"
	"sort"
	"strconv"
	"time"
)

// Policy is a named transit key: its versions and the rules for using them.
type Policy struct {
	Name                 string                 `json:"name"`
	Type                 KeyType                `json:"type"`
	Derived              bool                   `json:"derived"`
	ConvergentEncryption bool                   `json:"convergent_encryption"`
	Exportable           bool                   `json:"exportable"`
	AllowPlaintextBackup bool                   `json:"allow_plaintext_backup"`
	DeletionAllowed      bool                   `json:"deletion_allowed"`
	MinDecryptionVersion int                    `json:"min_decryption_version"`
	MinEncryptionVersion int                    `json:"min_encryption_version"`
	LatestVersion        int                    `json:"latest_version"`
	AutoRotatePeriod     time.Duration          `json:"auto_rotate_period"`
	HMACKeySize          int                    `json:"hmac_key_size,omitempty"`
	Keys                 map[string]*KeyVersion `json:"keys"`
}

// PolicyOptions are the settings chosen at creation.
type PolicyOptions struct {
	Type                 KeyType
	Derived              bool
	ConvergentEncryption bool
	Exportable           bool
	AllowPlaintextBackup bool
	KeySize              int // hmac keys only
	AutoRotatePeriod     time.Duration
}

// NewPolicy creates a key with its first version.
func NewPolicy(name string, o PolicyOptions) (*Policy, error) {
	if o.Type == "" {
		o.Type = AES256GCM96
	}
	if o.ConvergentEncryption {
		if !o.Derived {
			return nil, invalid("convergent encryption requires derivation to be enabled, so context is required")
		}
		if !o.Type.symmetric() {
			return nil, invalid("convergent encryption not supported for keys of type %v", o.Type)
		}
	}
	if o.Derived && !o.Type.symmetric() {
		return nil, invalid("key derivation is not supported for keys of type %v", o.Type)
	}
	switch {
	case o.Type == HMAC && o.KeySize == 0:
		o.KeySize = 32
	case o.Type == HMAC && (o.KeySize < 32 || o.KeySize > 512):
		return nil, invalid("invalid key_size provided: %d; must be between 32 and 512 bytes", o.KeySize)
	case o.Type != HMAC && o.KeySize != 0:
		return nil, invalid("key_size is not valid for algorithm %v", o.Type)
	}
	if o.AutoRotatePeriod != 0 && o.AutoRotatePeriod < time.Hour {
		return nil, invalid("auto rotate period must be 0 to disable or at least an hour")
	}
	p := &Policy{Name: name, Type: o.Type, Derived: o.Derived, ConvergentEncryption: o.ConvergentEncryption,
		Exportable: o.Exportable, AllowPlaintextBackup: o.AllowPlaintextBackup, HMACKeySize: o.KeySize,
		AutoRotatePeriod: o.AutoRotatePeriod, MinDecryptionVersion: 1, Keys: map[string]*KeyVersion{}}
	if err := p.Rotate(); err != nil {
		return nil, err
	}
	return p, nil
}

// Rotate adds a new version and makes it the one new data uses.
func (p *Policy) Rotate() error {
	v, err := newVersion(p.Type, p.HMACKeySize)
	if err != nil {
		return err
	}
	p.LatestVersion++
	p.Keys[strconv.Itoa(p.LatestVersion)] = v
	return nil
}

// encryptionVersion picks the version for new ciphertext or signatures:
// the requested one (0 means latest) within [min_encryption_version, latest].
func (p *Policy) encryptionVersion(requested int) (int, *KeyVersion, error) {
	if requested == 0 {
		requested = p.LatestVersion
	}
	if requested < 0 || requested > p.LatestVersion {
		return 0, nil, invalid("requested version for encryption is out of range: %d", requested)
	}
	if p.MinEncryptionVersion > 0 && requested < p.MinEncryptionVersion {
		return 0, nil, invalid("requested version for encryption is less than the minimum encryption key version")
	}
	v := p.Keys[strconv.Itoa(requested)]
	if v == nil {
		return 0, nil, invalid("requested version for encryption is not available")
	}
	return requested, v, nil
}

// decryptionVersion checks a version named in a ciphertext, signature or HMAC.
func (p *Policy) decryptionVersion(version int) (*KeyVersion, error) {
	if version > p.LatestVersion {
		return nil, invalid("invalid ciphertext: version is too new")
	}
	v := p.Keys[strconv.Itoa(version)]
	if version < p.MinDecryptionVersion || v == nil {
		return nil, invalid("ciphertext or signature version is disallowed by policy (too old)")
	}
	return v, nil
}

// Configure applies keys/<name>/config. Exportable and plaintext backup can
// only be turned on, as in Vault: once a key may leave, it may have left.
type Config struct {
	MinDecryptionVersion *int
	MinEncryptionVersion *int
	DeletionAllowed      *bool
	Exportable           *bool
	AllowPlaintextBackup *bool
	AutoRotatePeriod     *time.Duration
}

// Configure validates c against the key and applies it.
func (p *Policy) Configure(c Config) error {
	minDec, minEnc := p.MinDecryptionVersion, p.MinEncryptionVersion
	if c.MinDecryptionVersion != nil {
		minDec = *c.MinDecryptionVersion
		if minDec == 0 {
			minDec = 1
		}
		if minDec < 0 || minDec > p.LatestVersion {
			return invalid("cannot set min decryption version of %d, latest key version is %d", minDec, p.LatestVersion)
		}
	}
	if c.MinEncryptionVersion != nil {
		minEnc = *c.MinEncryptionVersion
		if minEnc < 0 || minEnc > p.LatestVersion {
			return invalid("cannot set min encryption version of %d, latest key version is %d", minEnc, p.LatestVersion)
		}
	}
	if minEnc > 0 && minEnc < minDec {
		return invalid("cannot set min encryption/decryption values; min encryption version (%d) must be greater than or equal to min decryption version (%d)", minEnc, minDec)
	}
	if c.Exportable != nil && !*c.Exportable && p.Exportable {
		return invalid("export cannot be disabled on a key that has it enabled")
	}
	if c.AllowPlaintextBackup != nil && !*c.AllowPlaintextBackup && p.AllowPlaintextBackup {
		return invalid("plaintext backup cannot be disabled on a key that has it enabled")
	}
	if c.AutoRotatePeriod != nil && *c.AutoRotatePeriod != 0 && *c.AutoRotatePeriod < time.Hour {
		return invalid("auto rotate period must be 0 to disable or at least an hour")
	}
	p.MinDecryptionVersion, p.MinEncryptionVersion = minDec, minEnc
	if c.DeletionAllowed != nil {
		p.DeletionAllowed = *c.DeletionAllowed
	}
	if c.Exportable != nil {
		p.Exportable = *c.Exportable
	}
	if c.AllowPlaintextBackup != nil {
		p.AllowPlaintextBackup = *c.AllowPlaintextBackup
	}
	if c.AutoRotatePeriod != nil {
		p.AutoRotatePeriod = *c.AutoRotatePeriod
	}
	return nil
}

// Trim removes versions below minAvailable; they can never be used again.
func (p *Policy) Trim(minAvailable int) error {
	if minAvailable < 1 || minAvailable > p.MinDecryptionVersion {
		return invalid("min_available_version must be between 1 and the min decryption version (%d)", p.MinDecryptionVersion)
	}
	if p.MinEncryptionVersion > 0 && minAvailable > p.MinEncryptionVersion {
		return invalid("min_available_version cannot be greater than min encryption version")
	}
	for k := range p.Keys {
		if n, _ := strconv.Atoi(k); n < minAvailable {
			delete(p.Keys, k)
		}
	}
	return nil
}

// versions returns the version numbers present, ascending.
func (p *Policy) versions() []int {
	out := make([]int, 0, len(p.Keys))
	for k := range p.Keys {
		n, _ := strconv.Atoi(k)
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// derive returns the key to use for a context: the version's key itself, or
// for a derived policy HKDF-SHA256(key, info = context) (OpenBao's
// "hkdf_sha256" KDF), sized like the key.
func (p *Policy) derive(v *KeyVersion, context []byte) ([]byte, error) {
	if !p.Derived {
		if len(context) > 0 {
			return nil, invalid("key %q does not use derivation; context must be empty", p.Name)
		}
		return v.Material, nil
	}
	if len(context) == 0 {
		return nil, invalid("missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key")
	}
	return hkdf.Key(sha256.New, v.Material, nil, string(context), len(v.Material))
}
