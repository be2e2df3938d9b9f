// Package exportjob is Kogral's asynchronous export: kogral-api queues a job
// (POST /exports), kogral-export (this package's consumer) runs it, reading
// the graph page by page, recording its progress and keeping its result in
// SurrealDB in parts under the job, and kogral-api reports the job and
// serves its parts. Jobs and their results expire after TTL.
package exportjob

import (
	"crypto/rand"
	"encoding/base32"
	"errors"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Job states.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
)

// Formats a job renders its result in.
var Formats = []string{"json", "dot", "markdown", "logseq"}

const (
	// TTL is how long a job and its result are kept after the request.
	TTL = 24 * time.Hour
	// PartSize bounds one part of a result: what one download answers.
	PartSize = 1 << 20
	// DefaultMaxBytes bounds a result when the consumer's
	// KOGRAL_EXPORT_MAX_BYTES does not say otherwise.
	DefaultMaxBytes = 64 << 20
	// PageSize is how many nodes a run reads at a time (one progress step).
	PageSize = 500
)

// Job is an export job as the API shows it.
type Job struct {
	ID string `json:"id"`
	// Graph is the graph asked for; "" is every graph the requester read.
	Graph  string `json:"graph"`
	Format string `json:"format"`
	Status string `json:"status"`
	// Done and Total count the nodes and edges read so far and in all
	// (Total is known once the run has counted them).
	Done  int    `json:"done"`
	Total int    `json:"total"`
	Error string `json:"error,omitempty"`
	// Size, Parts and ContentType describe a succeeded job's result.
	Size        int    `json:"size"`
	Parts       int    `json:"parts"`
	ContentType string `json:"content_type,omitempty"`
	// Graphs are the graphs exported.
	Graphs    []string  `json:"graphs"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Record is a job as stored: what the API shows and what only the run and
// the API's authorization read.
type Record struct {
	Job
	// Readable are the graphs the requester read when it asked: an edge is
	// exported when both its ends are in one of them.
	Readable []string `json:"readable"`
	// Sources are the graphs the result draws on: those of its nodes and of
	// its edges' ends (known when the job succeeded). Reading the job and
	// its result asks for reading each of them and each of Graphs.
	Sources     []string `json:"sources"`
	RequestedBy string   `json:"requested_by"`
	// Attempt is the run that owns the job.
	Attempt int `json:"attempt"`
}

// Request is a job to queue: Graphs and Readable as Record's.
type Request struct {
	Graph, Format, RequestedBy string
	Graphs, Readable           []string
}

// Finished reports whether the job has ended, well or not.
func (j Job) Finished() bool { return j.Status == StatusSucceeded || j.Status == StatusFailed }

// Errors of the store.
var (
	// ErrNotFound is a job that does not exist or has expired.
	ErrNotFound = errors.New("export job not found")
	// ErrSuperseded is a run that no longer owns its job (a later delivery
	// took it over, or it ended).
	ErrSuperseded = errors.New("export job taken over by another run")
)

// idPattern is what NewID makes.
var idPattern = regexp.MustCompile(`^exp-[0-9]{8}-[0-9]{6}-[a-z2-7]{16}$`)

// ValidID reports whether id could be a job's.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// NewID is a fresh job id: the time, then 80 random bits, so that ids sort
// by age and cannot be guessed.
func NewID(now time.Time) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "exp-" + now.UTC().Format("20060102-150405") + "-" +
		strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// ValidFormat reports whether f is one of Formats.
func ValidFormat(f string) bool { return slices.Contains(Formats, f) }
