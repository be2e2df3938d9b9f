package kogral

// NewTestStore is a store over a fresh embedded SurrealDB, for the
// external tests of this directory.
var NewTestStore = newStore
