package files

// Helpers of the internal tests that the external ones use.
var (
	NewTestStore  = newStore
	EdgeCaseGraph = edgeCaseGraph
	WriteFile     = writeFile
)
