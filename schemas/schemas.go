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

// OpenAPI holds openapi/<system>.json, each system's OpenAPI document,
// generated from the functions' registrations (make openapi) and served by
// the system's gateway at GET /openapi.json.
//
//go:embed openapi
var OpenAPI embed.FS

// OpenAPIDocument is the system's OpenAPI document; a system without one is
// a programming error the registry test names.
func OpenAPIDocument(system string) []byte {
	doc, err := OpenAPI.ReadFile("openapi/" + system + ".json")
	if err != nil {
		return []byte(`{}`)
	}
	return doc
}

// Provisioning holds provisioning/workflow.cue, the CUE contract of a
// workflow document (checked by the CLI before it sends one; the API checks
// the same rules in Go).
//
//go:embed provisioning
var Provisioning embed.FS
