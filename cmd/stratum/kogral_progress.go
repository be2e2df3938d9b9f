package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stratumiops/stratumiops/shared/kogral/files"
)

// progressBar draws an import's progress on one terminal line; on anything
// that is not a terminal (a pipe, a log, a test) it stays quiet.
type progressBar struct {
	w     io.Writer
	drawn bool
}

func newProgressBar(w io.Writer) *progressBar {
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return &progressBar{w: w}
		}
	}
	return &progressBar{}
}

const barWidth = 30

func (b *progressBar) show(p files.ImportProgress) {
	if b.w == nil {
		return
	}
	total := p.TotalNodes + p.TotalEdges
	done := p.Nodes + p.Edges
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	fill := int(frac * barWidth)
	fmt.Fprintf(b.w, "\r[%s%s] %3.0f%%  %d/%d nodes  %d/%d edges", strings.Repeat("#", fill), strings.Repeat(".", barWidth-fill),
		frac*100, p.Nodes, p.TotalNodes, p.Edges, p.TotalEdges)
	b.drawn = true
}

func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}
