package e2e

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"strings"
	"testing"
)

// A snapshot's SHA-256 sums can be recomputed by anyone; its HMAC only by
// the vault. Restored into the same vault without -force, a snapshot whose
// SHA256SUMS.sealed lost the HMAC (as one rewritten and re-summed outside
// the vault would) is refused with 400 and nothing is restored (issue 17).
func TestVaultSnapshotMACRequiredWithoutForce(t *testing.T) {
	ctx := context.Background()
	root := unsealedRoot(t)
	var snap bytes.Buffer
	if err := root.Sys().RaftSnapshotWithContext(ctx, &snap); err != nil {
		t.Fatal(err)
	}
	stripped := rewriteSealed(t, snap.Bytes(), func(sealed string) string {
		if !strings.Contains(sealed, "hmac-sha256:") {
			t.Fatalf("a snapshot taken unsealed carries no HMAC: %q", sealed)
		}
		first, _, _ := strings.Cut(sealed, "\n")
		return first + "\n"
	})
	err := root.Sys().RaftSnapshotRestoreWithContext(ctx, bytes.NewReader(stripped), false)
	if !hasStatus(err, 400) || !strings.Contains(err.Error(), "no MAC") {
		t.Fatalf("a snapshot without its HMAC, same vault, no -force: %v", err)
	}
	if st, err := root.Sys().SealStatusWithContext(ctx); err != nil || st.Sealed {
		t.Fatalf("the refused restore sealed the vault: %+v %v", st, err)
	}
}

// rewriteSealed copies a snapshot with its last member, SHA256SUMS.sealed, changed.
func rewriteSealed(t *testing.T, snap []byte, change func(string) string) []byte {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(snap))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	tw := tar.NewWriter(zw)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Name == "SHA256SUMS.sealed" {
			body = []byte(change(string(body)))
			hdr.Size = int64(len(body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
