package exportjob

// Fixture is fixture, for the external tests of this directory.
var Fixture = fixture
