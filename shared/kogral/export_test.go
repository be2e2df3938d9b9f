package kogral

// NewTestStore is a store over a fresh embedded SurrealDB, for the
// external tests of this directory.
var NewTestStore = newStore

// Helpers of the internal tests that the external ones use.
var (
	EdgeCaseGraph = edgeCaseGraph
	WriteFile     = writeFile
)
