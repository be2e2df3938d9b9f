package surreal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// migrationsTable records which schema files were applied, with their checksums.
const migrationsTable = "_migrations"

type appliedMigration struct {
	Name     string `json:"name"`
	Checksum string `json:"checksum"`
}

// Migrate applies the *.surql files of dir in files to the client's database in
// lexical order, each exactly once. Each file runs in one transaction together
// with its record in _migrations, so a failed file leaves nothing behind. A file
// whose content changed after it was applied is an error: write a new file instead.
// It returns the names it applied now.
func Migrate(ctx context.Context, c *Client, files fs.FS, dir string) ([]string, error) {
	entries, err := fs.ReadDir(files, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations %s: %w", dir, err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".surql") {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)

	setup := "DEFINE TABLE IF NOT EXISTS " + migrationsTable + " SCHEMAFULL;" +
		"DEFINE FIELD IF NOT EXISTS name ON " + migrationsTable + " TYPE string;" +
		"DEFINE FIELD IF NOT EXISTS checksum ON " + migrationsTable + " TYPE string;" +
		"DEFINE FIELD IF NOT EXISTS applied_at ON " + migrationsTable + " TYPE datetime DEFAULT time::now();" +
		"DEFINE INDEX IF NOT EXISTS " + migrationsTable + "_name ON " + migrationsTable + " FIELDS name UNIQUE;"
	if _, err := Query[any](ctx, c, Atomic(setup), nil); err != nil {
		return nil, fmt.Errorf("create %s: %w", migrationsTable, err)
	}

	var applied []string
	for _, name := range names {
		body, err := fs.ReadFile(files, path.Join(dir, name))
		if err != nil {
			return applied, fmt.Errorf("read migration %s: %w", name, err)
		}
		sum := sha256.Sum256(body)
		checksum := hex.EncodeToString(sum[:])
		done, err := checkApplied(ctx, c, name, checksum)
		if err != nil {
			return applied, err
		}
		if done {
			continue
		}
		sql := "BEGIN TRANSACTION;\n" + string(body) + "\n;CREATE " + migrationsTable +
			" CONTENT { name: $name, checksum: $checksum };\nCOMMIT TRANSACTION;"
		if _, err := Query[any](ctx, c, sql, map[string]any{"name": name, "checksum": checksum}); err != nil {
			// Another instance may have applied it at the same moment: the unique
			// index made our transaction fail. Accept that if the checksum matches.
			if done, checkErr := checkApplied(ctx, c, name, checksum); checkErr == nil && done {
				continue
			}
			return applied, fmt.Errorf("apply migration %s/%s: %w", c.Database(), name, err)
		}
		applied = append(applied, name)
	}
	return applied, nil
}

// ErrMigrationChanged marks an applied migration file whose content differs now.
var ErrMigrationChanged = errors.New("applied migration was changed")

func checkApplied(ctx context.Context, c *Client, name, checksum string) (bool, error) {
	rows, err := Query[[]appliedMigration](ctx, c,
		"SELECT name, checksum FROM "+migrationsTable+" WHERE name = $name", map[string]any{"name": name})
	if err != nil {
		return false, fmt.Errorf("read %s: %w", migrationsTable, err)
	}
	if len(rows) == 0 {
		return false, nil
	}
	if rows[0].Checksum != checksum {
		return false, fmt.Errorf("%w: %s/%s (applied %s…, now %s…)", ErrMigrationChanged, c.Database(), name,
			rows[0].Checksum[:12], checksum[:12])
	}
	return true, nil
}
