package main

import (
	"fmt"
	"strings"

	"github.com/stratumiops/stratumiops/shared/kogral/client"
)

// showExport draws an export job's progress on the bar's terminal line:
// nodes and edges read of all, and the job's state. Like an import's, it
// stays quiet on anything that is not a terminal (the output may be the
// export itself, on the same pipe).
func (b *progressBar) showExport(j client.ExportStatus) {
	if b.w == nil {
		return
	}
	frac := 0.0
	if j.Total > 0 {
		frac = float64(j.Done) / float64(j.Total)
	}
	if j.Status == "succeeded" {
		frac = 1
	}
	fill := int(frac * barWidth)
	fmt.Fprintf(b.w, "\r[%s%s] %3.0f%%  %d/%d nodes and edges  %-9s", strings.Repeat("#", fill), strings.Repeat(".", barWidth-fill),
		frac*100, j.Done, j.Total, j.Status)
	b.drawn = true
}
