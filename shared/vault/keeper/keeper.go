// Package keeper is the heart of vault-crypto, the only code that ever holds
// the vault's keys in clear. It initialises the vault (a random root key split
// with Shamir), collects unseal shares, and once unsealed seals and opens
// records for the other vault functions (AES-256-GCM with the storage path as
// associated data) and hashes tokens with a keyed HMAC.
//
// Lambda instances come and go, so the unsealed state is shared through
// SurrealDB: after unseal the root key is wrapped by KMS and stored with the
// seal generation. Any instance, warm or new, checks the generation on every
// operation; `seal` bumps it and removes the wrapped key, so every instance
// stops at once. Keys never reach SurrealDB, logs or other functions in clear.
package keeper

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vault/shamir"
)

// Wrapper is the KMS that wraps the root key (AWS KMS; local-kms in the devstack).
type Wrapper interface {
	Wrap(ctx context.Context, plaintext []byte, context map[string]string) ([]byte, error)
	Unwrap(ctx context.Context, blob []byte, context map[string]string) ([]byte, error)
}

// SealedError means the vault is sealed (HTTP 503 "Vault is sealed").
type SealedError struct{}

func (SealedError) Error() string { return "Vault is sealed" }

// InvalidError is a request the keeper refuses (HTTP 400).
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// UpstreamError is a backend the vault depends on failing (an unreachable
// database): HTTP 502 with Msg.
type UpstreamError struct{ Msg string }

func (e *UpstreamError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// keyring holds the keys derived at init, stored encrypted under the root key.
type keyring struct {
	Barrier []byte `json:"barrier"`
	Token   []byte `json:"token"`
	Audit   []byte `json:"audit"`
	// Records is the format every authorization record's MAC is known to be
	// in (RecordsFormat since init, or since the one-time re-MAC of a vault
	// created before it; 0 before). It lives here, sealed by the root key,
	// so that whoever writes the database can neither edit nor delete it
	// (the vault does not unseal without its keyring).
	Records int `json:"records,omitempty"`
}

// RecordsFormat is the format of the authorization records' MACs: 2 since
// tokens' MACs cover their parent and policies carry generations (1: the
// first MACs; 0: none). Records of a vault whose keyring says less are
// MAC'd again once, at unseal (see RecordsDue).
const RecordsFormat = 2

// sealConfig is the seal:config record.
type sealConfig struct {
	Shares     int    `json:"shares"`
	Threshold  int    `json:"threshold"`
	Keyring    []byte `json:"keyring"`
	Generation int    `json:"generation"`
	// WrappedRoot is the KMS-wrapped root key while unsealed; absent when sealed.
	WrappedRoot []byte `json:"wrapped_root,omitempty"`
	Nonce       string `json:"nonce,omitempty"`
}

// Keeper is the in-memory key holder of one vault-crypto instance.
type Keeper struct {
	db  *surreal.Client
	kms Wrapper

	mu         sync.Mutex
	keys       *keyring
	generation int
	verified   time.Time // when this instance last read the seal state itself
}

// verifyEvery bounds how long the keeper relies on the seal generation a
// caller observed (in the same SurrealDB query as its data) instead of
// reading it again. Callers refuse at once when they see a seal; the keeper
// itself stops within this interval even if a caller claimed otherwise.
const verifyEvery = time.Second

type generationKey struct{}

// WithGeneration records the seal generation a caller observed, for the keeper.
func WithGeneration(ctx context.Context, generation int) context.Context {
	return context.WithValue(ctx, generationKey{}, generation)
}

// GenerationFrom is the seal generation recorded by WithGeneration (0 if none).
func GenerationFrom(ctx context.Context) int {
	g, _ := ctx.Value(generationKey{}).(int)
	return g
}

// New returns a keeper; it holds no keys until it sees an unsealed vault.
func New(db *surreal.Client, kms Wrapper) *Keeper { return &Keeper{db: db, kms: kms} }

var configID = models.NewRecordID("seal", "config")

func (k *Keeper) loadConfig(ctx context.Context) (*sealConfig, error) {
	cfg, err := surreal.Query[*sealConfig](ctx, k.db, "SELECT * OMIT id FROM ONLY $id", map[string]any{"id": configID})
	if err != nil {
		return nil, fmt.Errorf("read seal config: %w", err)
	}
	return cfg, nil
}

func wrapContext(generation int) map[string]string {
	return map[string]string{"purpose": "secretumvault-root-key", "generation": strconv.Itoa(generation)}
}

// current returns the keys if the vault is unsealed, unwrapping the root key
// through KMS when this instance has not seen this seal generation yet.
func (k *Keeper) current(ctx context.Context) (*keyring, error) {
	claimed := GenerationFrom(ctx)
	k.mu.Lock()
	if k.keys != nil && claimed != 0 && claimed == k.generation && time.Since(k.verified) < verifyEvery {
		keys := k.keys
		k.mu.Unlock()
		return keys, nil
	}
	k.mu.Unlock()
	cfg, err := k.loadConfig(ctx)
	if err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if cfg == nil || cfg.WrappedRoot == nil {
		k.wipeLocked()
		return nil, SealedError{}
	}
	if k.keys != nil && k.generation == cfg.Generation {
		k.verified = time.Now()
		return k.keys, nil
	}
	k.wipeLocked()
	root, err := k.kms.Unwrap(ctx, cfg.WrappedRoot, wrapContext(cfg.Generation))
	if err != nil {
		return nil, fmt.Errorf("unwrap root key: %w", err)
	}
	defer clear(root)
	ring, err := openKeyring(root, cfg.Keyring)
	if err != nil {
		return nil, fmt.Errorf("open keyring: %w", err)
	}
	k.keys, k.generation, k.verified = ring, cfg.Generation, time.Now()
	return ring, nil
}

// Generation is the seal generation whose keys this instance holds (0: none).
func (k *Keeper) Generation() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys == nil {
		return 0
	}
	return k.generation
}

func (k *Keeper) wipeLocked() {
	if k.keys != nil {
		clear(k.keys.Barrier)
		clear(k.keys.Token)
		clear(k.keys.Audit)
	}
	k.keys = nil
}

// Status is the seal status of the vault.
type Status struct {
	Initialized bool   `json:"initialized"`
	Sealed      bool   `json:"sealed"`
	T           int    `json:"t"`
	N           int    `json:"n"`
	Progress    int    `json:"progress"`
	Nonce       string `json:"nonce"`
}

// Status reports initialisation, seal state and unseal progress.
func (k *Keeper) Status(ctx context.Context) (Status, error) {
	cfg, err := k.loadConfig(ctx)
	if err != nil {
		return Status{}, err
	}
	if cfg == nil {
		return Status{Sealed: true}, nil
	}
	st := Status{Initialized: true, Sealed: cfg.WrappedRoot == nil, T: cfg.Threshold, N: cfg.Shares}
	if st.Sealed {
		if st.Progress, err = k.progressCount(ctx); err != nil {
			return Status{}, err
		}
		if st.Progress > 0 {
			st.Nonce = cfg.Nonce
		}
	}
	return st, nil
}

// InitResult is what init hands out, once.
type InitResult struct {
	Keys       []string `json:"keys"`
	KeysBase64 []string `json:"keys_base64"`
	RootToken  string   `json:"root_token"`
	// RootTokenHash is the keyed hash the token store keys the root token on.
	RootTokenHash string `json:"root_token_hash"`
	// RecordKey MACs the root token's record, stored while the vault is still sealed.
	RecordKey []byte `json:"record_key,omitempty"`
}

// Init creates the root key and keyring, splits the root key and creates the
// root token. The vault stays sealed, as Vault's does.
func (k *Keeper) Init(ctx context.Context, shares, threshold int) (InitResult, error) {
	if shares < 1 || shares > 255 {
		return InitResult{}, invalid("secret_shares must be between 1 and 255")
	}
	if threshold < 1 || threshold > shares {
		return InitResult{}, invalid("invalid seal configuration: threshold must be between 1 and secret_shares")
	}
	if threshold == 1 && shares > 1 {
		return InitResult{}, invalid("invalid seal configuration: threshold must be greater than one for multiple shares")
	}
	root := random(32)
	defer clear(root)
	ring := &keyring{Barrier: random(32), Token: random(32), Audit: random(32), Records: RecordsFormat}
	sealedRing, err := sealKeyring(root, ring)
	if err != nil {
		return InitResult{}, err
	}
	var parts [][]byte
	if shares == 1 {
		parts = [][]byte{append(append([]byte(nil), root...), 1)}
	} else if parts, err = shamir.Split(root, shares, threshold); err != nil {
		return InitResult{}, invalid("%v", err)
	}
	// CREATE fails if another init got there first: init happens once.
	_, err = surreal.Query[any](ctx, k.db, "CREATE $id CONTENT $cfg", map[string]any{"id": configID, "cfg": map[string]any{
		"shares": shares, "threshold": threshold, "keyring": sealedRing, "generation": 1,
	}})
	if err != nil {
		var qe *surreal.QueryError
		if errors.As(err, &qe) && strings.Contains(qe.Message, "already exists") {
			return InitResult{}, invalid("Vault is already initialized")
		}
		return InitResult{}, fmt.Errorf("store seal config: %w", err)
	}
	res := InitResult{RootToken: NewToken()}
	res.RootTokenHash = tokenHash(ring.Token, res.RootToken)
	res.RecordKey = recordKey(ring)
	for _, p := range parts {
		res.Keys = append(res.Keys, hex.EncodeToString(p))
		res.KeysBase64 = append(res.KeysBase64, base64.StdEncoding.EncodeToString(p))
	}
	return res, nil
}

// Unseal adds one key share; at the threshold it recovers the root key,
// verifies it against the keyring and, if it fits, unseals every instance by
// storing the KMS-wrapped root key. Wrong shares reset the progress.
func (k *Keeper) Unseal(ctx context.Context, key string, reset bool) (Status, error) {
	cfg, err := k.loadConfig(ctx)
	if err != nil {
		return Status{}, err
	}
	if cfg == nil {
		return Status{}, invalid("Vault is not initialized")
	}
	if reset {
		if err := k.resetProgress(ctx); err != nil {
			return Status{}, err
		}
		return k.Status(ctx)
	}
	share, err := ParseKey(key) // refused as Vault does, also on an unsealed vault
	if err != nil {
		return Status{}, err
	}
	if cfg.WrappedRoot != nil {
		return k.Status(ctx)
	}
	if len(share) != 33 {
		return Status{}, invalid("'key' must be a valid unseal key share of 33 bytes, got %d", len(share))
	}
	// Each share is kept under its hash (so a duplicate counts once), wrapped by KMS.
	sum := sha256.Sum256(share)
	wrapped, err := k.kms.Wrap(ctx, share, map[string]string{"purpose": "secretumvault-unseal-share"})
	if err != nil {
		return Status{}, fmt.Errorf("wrap share: %w", err)
	}
	nonce := cfg.Nonce
	if nonce == "" {
		nonce = NewUUID()
	}
	_, err = surreal.Query[any](ctx, k.db, surreal.Atomic("UPSERT $share CONTENT { blob: $blob }; UPDATE $cfg SET nonce = $nonce WHERE nonce = NONE;"),
		map[string]any{"share": models.NewRecordID("unseal_share", hex.EncodeToString(sum[:])), "blob": wrapped,
			"cfg": configID, "nonce": nonce})
	if err != nil {
		return Status{}, fmt.Errorf("store share: %w", err)
	}
	blobs, err := surreal.Query[[][]byte](ctx, k.db, "SELECT VALUE blob FROM unseal_share", nil)
	if err != nil {
		return Status{}, fmt.Errorf("read shares: %w", err)
	}
	if len(blobs) < cfg.Threshold {
		return k.Status(ctx)
	}
	parts := make([][]byte, 0, len(blobs))
	for _, b := range blobs {
		p, err := k.kms.Unwrap(ctx, b, map[string]string{"purpose": "secretumvault-unseal-share"})
		if err != nil {
			return Status{}, fmt.Errorf("unwrap share: %w", err)
		}
		parts = append(parts, p)
	}
	root, err := combine(parts, cfg.Threshold)
	for _, p := range parts {
		clear(p)
	}
	if err == nil {
		var ring *keyring
		if ring, err = openKeyring(root, cfg.Keyring); err == nil {
			for _, key := range [][]byte{ring.Barrier, ring.Token, ring.Audit} {
				clear(key)
			}
		}
	}
	if err != nil {
		clear(root)
		if rerr := k.resetProgress(ctx); rerr != nil {
			return Status{}, rerr
		}
		return Status{}, invalid("Error unsealing: failed to decrypt keys from storage: the unseal key shares do not belong to this vault")
	}
	next := cfg.Generation + 1
	wrappedRoot, err := k.kms.Wrap(ctx, root, wrapContext(next))
	clear(root)
	if err != nil {
		return Status{}, fmt.Errorf("wrap root key: %w", err)
	}
	if _, err := surreal.Query[any](ctx, k.db,
		surreal.Atomic("UPDATE $cfg SET wrapped_root = $root, generation = $gen, nonce = NONE; DELETE unseal_share;"),
		map[string]any{"cfg": configID, "root": wrappedRoot, "gen": next}); err != nil {
		return Status{}, fmt.Errorf("store wrapped root key: %w", err)
	}
	return k.Status(ctx)
}

func combine(parts [][]byte, threshold int) ([]byte, error) {
	if threshold == 1 {
		return append([]byte(nil), parts[0][:len(parts[0])-1]...), nil
	}
	return shamir.Combine(parts)
}

func (k *Keeper) progressCount(ctx context.Context) (int, error) {
	n, err := surreal.Query[int](ctx, k.db, "RETURN count(SELECT * FROM unseal_share)", nil)
	if err != nil {
		return 0, fmt.Errorf("unseal progress: %w", err)
	}
	return n, nil
}

func (k *Keeper) resetProgress(ctx context.Context) error {
	_, err := surreal.Query[any](ctx, k.db, surreal.Atomic("DELETE unseal_share; UPDATE $cfg SET nonce = NONE;"), map[string]any{"cfg": configID})
	if err != nil {
		return fmt.Errorf("reset unseal progress: %w", err)
	}
	return nil
}

// Seal bumps the generation and drops the wrapped root key: every instance
// refuses secret operations from its next call on.
func (k *Keeper) Seal(ctx context.Context) error {
	if _, err := surreal.Query[any](ctx, k.db,
		surreal.Atomic("UPDATE $cfg SET wrapped_root = NONE, generation += 1, nonce = NONE; DELETE unseal_share;"),
		map[string]any{"cfg": configID}); err != nil {
		return fmt.Errorf("seal: %w", err)
	}
	k.mu.Lock()
	k.wipeLocked()
	k.mu.Unlock()
	return nil
}

// Record is a value stored at a path.
type Record struct {
	Path string `json:"path"`
	Data []byte `json:"data"`
}

// SealRecords encrypts each record's data under the barrier key, bound to its path.
func (k *Keeper) SealRecords(ctx context.Context, recs []Record) ([]Record, error) {
	ring, err := k.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Record, len(recs))
	for i, r := range recs {
		blob, err := seal(ring.Barrier, r.Data, []byte(r.Path))
		if err != nil {
			return nil, err
		}
		out[i] = Record{Path: r.Path, Data: blob}
	}
	return out, nil
}

// OpenRecords decrypts blobs sealed for their paths; a blob moved to another path fails.
func (k *Keeper) OpenRecords(ctx context.Context, recs []Record) ([]Record, error) {
	ring, err := k.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Record, len(recs))
	for i, r := range recs {
		plain, err := open(ring.Barrier, r.Data, []byte(r.Path))
		if err != nil {
			return nil, fmt.Errorf("open %q: %w", r.Path, err)
		}
		out[i] = Record{Path: r.Path, Data: plain}
	}
	return out, nil
}

// TokenHash is the keyed hash under which the token store keeps a token.
func (k *Keeper) TokenHash(ctx context.Context, token string) (string, error) {
	ring, err := k.current(ctx)
	if err != nil {
		return "", err
	}
	return tokenHash(ring.Token, token), nil
}

// AuditHMAC hashes values for the audit log with the audit key, as Vault's
// audit devices do ("hmac-sha256:<hex>").
func (k *Keeper) AuditHMAC(ctx context.Context, values []string) ([]string, error) {
	ring, err := k.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(values))
	for i, v := range values {
		m := hmac.New(sha256.New, ring.Audit)
		m.Write([]byte(v))
		out[i] = "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
	}
	return out, nil
}

// AuditChainKey is derived from the audit key: it keys the audit log's chain
// links and checkpoints. The functions that write and verify the log hold it,
// never the audit key itself, so it cannot be used to guess HMAC'd values.
func (k *Keeper) AuditChainKey(ctx context.Context) ([]byte, error) {
	ring, err := k.current(ctx)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, ring.Audit)
	m.Write([]byte("secretumvault audit chain v1"))
	return m.Sum(nil), nil
}

// RecordsDue reports whether the vault's records predate RecordsFormat and
// are to be MAC'd again (once: RecordsDone records it). It reads the keyring
// from the database and opens it with the root key each time, never from
// what this instance holds, so no instance can answer from before RecordsDone.
func (k *Keeper) RecordsDue(ctx context.Context) (bool, error) {
	_, ring, _, err := k.freshRing(ctx)
	if err != nil {
		return false, err
	}
	return ring.Records < RecordsFormat, nil
}

// RecordsDone records in the keyring that every record is in RecordsFormat:
// from then on a record without a valid MAC is refused, and no re-MAC runs
// again. The keyring is replaced only if it is still the one read.
func (k *Keeper) RecordsDone(ctx context.Context) error {
	cfg, ring, root, err := k.freshRing(ctx)
	if err != nil {
		return err
	}
	defer clear(root)
	if ring.Records >= RecordsFormat {
		return nil
	}
	ring.Records = RecordsFormat
	blob, err := sealKeyring(root, ring)
	if err != nil {
		return err
	}
	done, err := surreal.Query[[]any](ctx, k.db, "UPDATE $cfg SET keyring = $new WHERE keyring = $old AND generation = $gen RETURN VALUE id",
		map[string]any{"cfg": configID, "new": blob, "old": cfg.Keyring, "gen": cfg.Generation})
	if err != nil {
		return fmt.Errorf("record the records' format: %w", err)
	}
	if len(done) == 0 {
		return &UpstreamError{Msg: "the seal changed while the records' format was recorded; unseal again"}
	}
	k.mu.Lock()
	if k.keys != nil && k.generation == cfg.Generation {
		k.keys.Records = RecordsFormat
	}
	k.mu.Unlock()
	return nil
}

// freshRing reads the seal and opens the keyring with the root key (KMS).
func (k *Keeper) freshRing(ctx context.Context) (*sealConfig, *keyring, []byte, error) {
	cfg, err := k.loadConfig(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	if cfg == nil || cfg.WrappedRoot == nil {
		return nil, nil, nil, SealedError{}
	}
	root, err := k.kms.Unwrap(ctx, cfg.WrappedRoot, wrapContext(cfg.Generation))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("unwrap root key: %w", err)
	}
	ring, err := openKeyring(root, cfg.Keyring)
	if err != nil {
		clear(root)
		return nil, nil, nil, fmt.Errorf("open keyring: %w", err)
	}
	return cfg, ring, root, nil
}

// RecordKey is derived from the token key: it MACs the vault's authorization
// records (tokens, policies, mounts, leases) so that one edited in SurrealDB
// directly is refused (see package integrity). The functions that read and
// write those records hold it, never the token key.
func (k *Keeper) RecordKey(ctx context.Context) ([]byte, error) {
	ring, err := k.current(ctx)
	if err != nil {
		return nil, err
	}
	return recordKey(ring), nil
}

func recordKey(ring *keyring) []byte {
	m := hmac.New(sha256.New, ring.Token)
	m.Write([]byte("secretumvault record mac v1"))
	return m.Sum(nil)
}

func tokenHash(key []byte, token string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(token))
	return hex.EncodeToString(m.Sum(nil))
}

// ParseKey decodes an unseal key given in hex or base64, as Vault accepts it.
func ParseKey(key string) ([]byte, error) {
	key = strings.TrimSpace(key)
	if key == "" {
		return nil, invalid("missing required 'key' parameter")
	}
	if b, err := hex.DecodeString(key); err == nil {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(key); err == nil {
		return b, nil
	}
	return nil, invalid("'key' must be a valid hex or base64 string")
}

// NewToken returns a random service token id ("s." + 24 base62 characters, as OpenBao's).
func NewToken() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := random(24)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "s." + string(b)
}

// NewUUID returns a random RFC 4122 version 4 UUID.
func NewUUID() string {
	b := random(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func random(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err)) // the kernel's CSPRNG failing is not recoverable
	}
	return b
}

// Blob format: 0x01 | 12-byte nonce | AES-256-GCM ciphertext and tag.
const blobVersion = 1

func seal(key, plaintext, aad []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := random(gcm.NonceSize())
	out := append([]byte{blobVersion}, nonce...)
	return gcm.Seal(out, nonce, plaintext, aad), nil
}

func open(key, blob, aad []byte) ([]byte, error) {
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(blob) < 1+gcm.NonceSize()+gcm.Overhead() || blob[0] != blobVersion {
		return nil, errors.New("malformed sealed value")
	}
	nonce := blob[1 : 1+gcm.NonceSize()]
	return gcm.Open(nil, nonce, blob[1+gcm.NonceSize():], aad)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func sealKeyring(root []byte, ring *keyring) ([]byte, error) {
	raw, err := json.Marshal(ring)
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	return seal(root, raw, []byte("keyring"))
}

func openKeyring(root, blob []byte) (*keyring, error) {
	raw, err := open(root, blob, []byte("keyring"))
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	var ring keyring
	if err := json.Unmarshal(raw, &ring); err != nil {
		return nil, err
	}
	return &ring, nil
}
