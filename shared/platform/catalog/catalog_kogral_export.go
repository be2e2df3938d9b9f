package catalog

import "time"

// Kogral's export jobs: kogral-api queues one (POST /exports) and announces
// it on kogral.exports.requested; kogral-export runs it, as long as it takes
// (an HTTP function has 28 s), and keeps the result under the job in
// SurrealDB (shared/kogral/exportjob).
func init() {
	Streams = append(Streams, Stream{Name: "KOGRAL", Subjects: []string{"kogral.>"}, MaxAge: 7 * 24 * time.Hour})
	Functions = append(Functions, Function{
		Name:        "kogral-export",
		System:      "kogral",
		Kind:        Consumer,
		Description: "Runs Kogral's export jobs: reads the graphs page by page with progress, renders JSON, DOT, markdown or Logseq, keeps the result in parts.",
		Subjects:    []string{"kogral.exports.requested"},
		// A run starts the job again from scratch; the third failure fails it.
		MaxDeliver: 3,
		Database:   "kogral",
		// A result above it fails its job (it is kept in SurrealDB, in 1 MiB parts).
		Env:      map[string]string{"KOGRAL_EXPORT_MAX_BYTES": "67108864"},
		MemoryMB: 1024, // the graph, then its rendering, are in memory at once
		Timeout:  5 * time.Minute,
		AckWait:  time.Minute, // a crashed run's job starts again a minute later
	})
}
