// Package schemas ships the SurrealDB migrations and Cedar policies inside the
// binaries that need them, so a Lambda carries its own schema.
package schemas

import "embed"

// Surreal holds surreal/<database>/*.surql, applied in order by surreal.Migrate.
//
//go:embed surreal
var Surreal embed.FS

// Cedar holds cedar/<system>/*.cedar policy sets and their schemas.
//
//go:embed cedar
var Cedar embed.FS
