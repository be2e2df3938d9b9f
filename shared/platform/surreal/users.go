package surreal

import (
	"context"
	"fmt"
	"strings"
)

// UserRole is the role each function's user has on its own database. EDITOR
// is the least that works: functions write records and apply their
// database's migrations on first use (DEFINE TABLE, FIELD, INDEX, EVENT), which
// VIEWER cannot; EDITOR cannot define users or access methods, nor touch
// other databases or the namespace (SurrealDB 3.0.2 answers "IAM error: Not
// enough permissions").
const UserRole = "EDITOR"

// DefineDatabaseUser makes (or resets the password of) user, a user of root's
// database only, with UserRole. root must be signed in as a root user.
func DefineDatabaseUser(ctx context.Context, root *Client, user, pass string) error {
	if user == "" || pass == "" {
		return fmt.Errorf("define surreal user of %s: user and password are required", root.Database())
	}
	// DEFINE USER takes its password as a literal, not a parameter.
	sql := fmt.Sprintf("DEFINE USER OVERWRITE %s ON DATABASE PASSWORD %s ROLES %s;", ident(user), quote(pass), UserRole)
	if _, err := Query[any](ctx, root, sql, nil); err != nil {
		return fmt.Errorf("define surreal user %s on %s: %w", user, root.Database(), err)
	}
	return nil
}

// quote is s as a SurrealQL single-quoted string literal.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
