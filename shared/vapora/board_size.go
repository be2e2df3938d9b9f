package vapora

import "github.com/stratumiops/stratumiops/shared/platform/httpapi"

// maxPageBytes bounds what a board page's tasks add to its Lambda response
// payload (httpapi.PayloadSize), well under Lambda's 6 MB: a page of up to
// maxPage tasks a column with long descriptions would pass it.
const maxPageBytes = 4 << 20

// boundPage keeps the page's tasks while they fit in maxPageBytes, taking
// the columns in turn (each one's first task, then each one's second…) so
// that every column keeps its first tasks; Truncated says some were left
// out: their order and the totals say where each column goes on (ask again
// with status and offset). The first task always stays.
func boundPage(p Page) Page {
	if httpapi.PayloadBound(p.Tasks) <= maxPageBytes {
		return p // the usual page, not encoded to be measured
	}
	var columns [][]int // indexes into p.Tasks, by column in page order
	at := map[string]int{}
	for i, t := range p.Tasks {
		c, ok := at[t.Status]
		if !ok {
			c = len(columns)
			at[t.Status] = c
			columns = append(columns, nil)
		}
		columns[c] = append(columns[c], i)
	}
	keep := make([]bool, len(p.Tasks))
	total, kept := 0, 0
fill:
	for rank := 0; kept < len(p.Tasks); rank++ {
		for _, col := range columns {
			if rank >= len(col) {
				continue
			}
			size := httpapi.PayloadSize(p.Tasks[col[rank]])
			if kept > 0 && total+size > maxPageBytes {
				break fill
			}
			total += size
			keep[col[rank]] = true
			kept++
		}
	}
	if kept == len(p.Tasks) {
		return p
	}
	out := make([]Task, 0, kept)
	for i, t := range p.Tasks {
		if keep[i] {
			out = append(out, t)
		}
	}
	p.Tasks, p.Truncated = out, true
	return p
}
