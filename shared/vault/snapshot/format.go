package snapshot

import (
	"archive/tar"
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// A snapshot is a gzip'd tar, as OpenBao's raft snapshot is, so that its
// clients (`bao operator raft snapshot save`, which checks that the last
// member is a non-empty SHA256SUMS.sealed) take it unchanged. Members, in order:
//
//	meta.json                 the header: format, version, seal generation, tables
//	tables/<table>/<n>.cbor   a page: CBOR array of up to 500 records as stored
//	counts.json               records per table (known once the pages are written)
//	SHA256SUMS                "<sha256 hex>  <name>" of every member above, in order
//	SHA256SUMS.sealed         sha256 hex of SHA256SUMS: the checksum over everything;
//	                          then, when taken unsealed, "hmac-sha256:<hex>": the
//	                          MAC of SHA256SUMS under a key of this vault (see Sum)
const (
	Format  = "secretumvault-snapshot"
	Version = 1

	metaName   = "meta.json"
	countsName = "counts.json"
	sumsName   = "SHA256SUMS"
	sealedName = "SHA256SUMS.sealed"
)

// Meta is the header of a snapshot.
type Meta struct {
	Format         string    `json:"format"`
	Version        int       `json:"version"`
	CreatedAt      time.Time `json:"created_at"`
	WrittenBy      string    `json:"written_by"` // "vault-sys <version>", "vault-backup"
	SealGeneration int       `json:"seal_generation"`
	Tables         []string  `json:"tables"`
	PageSize       int       `json:"page_size"`
}

// archive writes the members of a snapshot, keeping the sums.
type archive struct {
	gz   *gzip.Writer
	tw   *tar.Writer
	at   time.Time
	sums []byte
}

func newArchive(w io.Writer, at time.Time) *archive {
	gz := gzip.NewWriter(w)
	return &archive{gz: gz, tw: tar.NewWriter(gz), at: at}
}

func (a *archive) add(name string, body []byte) error {
	hdr := &tar.Header{Name: name, Mode: 0o600, Size: int64(len(body)), ModTime: a.at, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := a.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("snapshot member %s: %w", name, err)
	}
	if _, err := a.tw.Write(body); err != nil {
		return fmt.Errorf("snapshot member %s: %w", name, err)
	}
	sum := sha256.Sum256(body)
	a.sums = fmt.Appendf(a.sums, "%s  %s\n", hex.EncodeToString(sum[:]), name)
	return nil
}

func (a *archive) addJSON(name string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("snapshot member %s: %w", name, err)
	}
	return a.add(name, raw)
}

// MAC is the keyed MAC of a snapshot's SHA256SUMS, which names the hash of
// every other member: under key (the vault's record key, from vault-crypto),
// it proves the vault wrote the snapshot, which a SHA-256 anyone can
// recompute does not.
func MAC(key, sums []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("secretumvault snapshot mac v1\n"))
	m.Write(sums)
	return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
}

// close writes the sums and the checksum over them (and their MAC under key,
// if any), and ends the stream.
func (a *archive) close(key []byte) error {
	sums := a.sums
	if err := a.add(sumsName, sums); err != nil {
		return err
	}
	digest := sha256.Sum256(sums)
	sealed := hex.EncodeToString(digest[:]) + "\n"
	if key != nil {
		sealed += MAC(key, sums) + "\n"
	}
	if err := a.add(sealedName, []byte(sealed)); err != nil {
		return err
	}
	if err := a.tw.Close(); err != nil {
		return fmt.Errorf("snapshot end: %w", err)
	}
	if err := a.gz.Close(); err != nil {
		return fmt.Errorf("snapshot end: %w", err)
	}
	return nil
}

func pageName(table string, seq int) string { return fmt.Sprintf("tables/%s/%06d.cbor", table, seq) }
