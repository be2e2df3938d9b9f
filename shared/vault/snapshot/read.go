package snapshot

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/surreal"
)

// InvalidError is a snapshot refused as truncated, altered or not ours.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return "invalid snapshot: " + e.Msg }

func invalid(format string, args ...any) error {
	return &InvalidError{Msg: fmt.Sprintf(format, args...)}
}

// maxMember bounds one member of a snapshot once uncompressed.
const maxMember = 64 << 20

// reader walks a snapshot's members, hashing each.
type reader struct {
	tr     *tar.Reader
	sums   []byte
	meta   Meta
	counts map[string]int // as counts.json says
	read   map[string]int // as the pages hold
	pages  map[string]int
	mac    string // the MAC line of SHA256SUMS.sealed ("" if none)
	signed []byte // SHA256SUMS as read, once checked: what mac is over
}

// read verifies a snapshot from r, passing each page to onPage as it goes.
// It returns the header only once every member, the sums and the checksum
// over them have been checked, so a caller applies nothing before that.
func read(r io.Reader, onPage func(table string, seq int, rows []Record) error) (Meta, map[string]int, *reader, error) {
	gz, err := gzip.NewReader(bufio.NewReader(r))
	if err != nil {
		return Meta{}, nil, nil, invalid("not a gzip stream: %v", err)
	}
	gz.Multistream(false)
	rd := &reader{tr: tar.NewReader(gz), counts: map[string]int{}, read: map[string]int{}, pages: map[string]int{}}
	if err := rd.header(); err != nil {
		return Meta{}, nil, nil, err
	}
	if err := rd.body(onPage); err != nil {
		return Meta{}, nil, nil, err
	}
	// The tar ends before the gzip stream does: read it out so its CRC is checked.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return Meta{}, nil, nil, invalid("damaged compression: %v", err)
	}
	return rd.meta, rd.counts, rd, nil
}

// next returns the next member's name and content.
func (rd *reader) next() (string, []byte, error) {
	hdr, err := rd.tr.Next()
	if err == io.EOF {
		return "", nil, invalid("truncated: it ends before %s", sealedName)
	}
	if err != nil {
		return "", nil, invalid("truncated or damaged: %v", err)
	}
	if hdr.Typeflag != tar.TypeReg || hdr.Size < 0 || hdr.Size > maxMember {
		return "", nil, invalid("member %q is not a file of at most %d bytes", hdr.Name, maxMember)
	}
	body, err := io.ReadAll(rd.tr)
	if err != nil {
		return "", nil, invalid("truncated or damaged in %s: %v", hdr.Name, err)
	}
	if hdr.Name != sumsName && hdr.Name != sealedName {
		sum := sha256.Sum256(body)
		rd.sums = fmt.Appendf(rd.sums, "%s  %s\n", hex.EncodeToString(sum[:]), hdr.Name)
	}
	return hdr.Name, body, nil
}

func (rd *reader) header() error {
	name, body, err := rd.next()
	if err != nil {
		return err
	}
	if name != metaName {
		return invalid("first member is %q, not %s", name, metaName)
	}
	if err := json.Unmarshal(body, &rd.meta); err != nil {
		return invalid("%s: %v", metaName, err)
	}
	if rd.meta.Format != Format {
		return invalid("format %q, not %s", rd.meta.Format, Format)
	}
	if rd.meta.Version != Version {
		return invalid("format version %d; this vault reads version %d", rd.meta.Version, Version)
	}
	for _, t := range rd.meta.Tables {
		if !slices.Contains(Tables, t) {
			return invalid("unknown table %q", t)
		}
	}
	return nil
}

// body reads the pages, then the trailer, and checks them all.
func (rd *reader) body(onPage func(table string, seq int, rows []Record) error) error {
	for {
		name, body, err := rd.next()
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(name, "tables/"):
			if err := rd.page(name, body, onPage); err != nil {
				return err
			}
		case name == countsName:
			if err := json.Unmarshal(body, &rd.counts); err != nil {
				return invalid("%s: %v", countsName, err)
			}
		case name == sumsName:
			if !bytes.Equal(body, rd.sums) {
				return invalid("checksums do not match the content (altered or damaged)")
			}
			return rd.trailer(body)
		default:
			return invalid("unexpected member %q", name)
		}
	}
}

func (rd *reader) page(name string, body []byte, onPage func(string, int, []Record) error) error {
	rest, _ := strings.CutPrefix(name, "tables/")
	table, num, _ := strings.Cut(rest, "/")
	seq := rd.pages[table] + 1
	if !slices.Contains(rd.meta.Tables, table) || num != fmt.Sprintf("%06d.cbor", seq) {
		return invalid("unexpected page %q", name)
	}
	rd.pages[table] = seq
	var rows []Record
	if err := surreal.UnmarshalUntrustedCBOR(body, &rows); err != nil {
		return invalid("page %s: %v", name, err)
	}
	if len(rows) > pageSize {
		return invalid("page %s holds %d records, more than a page's %d", name, len(rows), pageSize)
	}
	for _, row := range rows {
		id, ok := row["id"].(models.RecordID)
		if !ok || id.Table != table {
			return invalid("page %s holds a record that is not of table %s", name, table)
		}
	}
	rd.read[table] += len(rows)
	return onPage(table, seq, rows)
}

// trailer checks the checksum over the sums, the counts, and that nothing follows.
func (rd *reader) trailer(sums []byte) error {
	name, body, err := rd.next()
	if err != nil {
		return err
	}
	want := sha256.Sum256(sums)
	digest, mac, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	if name != sealedName || digest != hex.EncodeToString(want[:]) {
		return invalid("%s does not match %s (altered or damaged)", sealedName, sumsName)
	}
	rd.mac, rd.signed = strings.TrimSpace(mac), sums
	for t, n := range rd.counts {
		if !slices.Contains(rd.meta.Tables, t) {
			return invalid("%s names unknown table %q", countsName, t)
		}
		if rd.read[t] != n {
			return invalid("table %s: %d records, %s says %d", t, rd.read[t], countsName, n)
		}
	}
	for t, n := range rd.read {
		if rd.counts[t] != n {
			return invalid("table %s: %d records, %s says %d", t, n, countsName, rd.counts[t])
		}
	}
	if _, err := rd.tr.Next(); !errors.Is(err, io.EOF) {
		return invalid("data after %s", sealedName)
	}
	return nil
}
