package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/kogral/client"
)

// An export job's progress is drawn on one terminal line, to 100 % when it
// succeeds; off a terminal nothing is written.
func TestExportProgress(t *testing.T) {
	var buf bytes.Buffer
	bar := &progressBar{w: &buf}
	bar.showExport(client.ExportStatus{Status: "queued"})
	bar.showExport(client.ExportStatus{Status: "running", Done: 250, Total: 1000})
	bar.showExport(client.ExportStatus{Status: "succeeded", Done: 1000, Total: 1000})
	bar.done()
	lines := strings.Split(buf.String(), "\r")
	if len(lines) != 4 || !strings.Contains(lines[1], "  0%  0/0 nodes and edges  queued") ||
		!strings.Contains(lines[2], " 25%  250/1000 nodes and edges  running") || !strings.Contains(lines[3], "100%  1000/1000") ||
		!strings.HasSuffix(buf.String(), "\n") {
		t.Fatalf("%q", buf.String())
	}
	quiet := newProgressBar(&bytes.Buffer{})
	quiet.showExport(client.ExportStatus{Status: "running"})
	if quiet.drawn {
		t.Fatal("drawn off a terminal")
	}
}
