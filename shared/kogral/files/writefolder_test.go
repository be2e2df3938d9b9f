package files

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFolder writes inside its folder only: a path that is not local is
// refused before anything is written, and a symbolic link inside the folder
// that points out of it is not followed.
func TestWriteFolderStaysInside(t *testing.T) {
	base := t.TempDir()
	dir, outside := filepath.Join(base, "out"), filepath.Join(base, "elsewhere")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFolder(dir, map[string][]byte{"notes/a.md": []byte("a\n")}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "notes", "a.md")); err != nil || string(got) != "a\n" {
		t.Fatalf("notes/a.md: %q, %v", got, err)
	}
	for _, rel := range []string{"../escape.md", "/abs.md"} {
		err := WriteFolder(dir, map[string][]byte{"notes/b.md": []byte("b"), rel: []byte("x")})
		if err == nil {
			t.Fatalf("%s: written", rel)
		}
		if _, err := os.Stat(filepath.Join(dir, "notes", "b.md")); !os.IsNotExist(err) {
			t.Fatalf("%s refused, but notes/b.md was written first (%v)", rel, err)
		}
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if err := WriteFolder(dir, map[string][]byte{"link/c.md": []byte("c")}); err == nil {
		t.Fatal("wrote through a link that leaves the folder")
	}
	if _, err := os.Stat(filepath.Join(outside, "c.md")); !os.IsNotExist(err) {
		t.Fatalf("a file appeared outside the folder (%v)", err)
	}
}
