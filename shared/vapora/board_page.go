package vapora

import (
	"maps"
	"slices"

	"github.com/surrealdb/surrealdb.go/pkg/models"
)

// A page of the board as the index lists it (Store.Tasks reads its records).

// pagePlan is what the board index lists for a page: the tasks of each
// column in order, and each column's size.
type pagePlan struct {
	want   []listed
	totals map[string]int
}

type listed struct {
	slot
	status string
}

// pagePlan lists up to limit tasks of each of statuses from offset.
func (x *boardIndex) pagePlan(project string, statuses []string, offset, limit int) pagePlan {
	p := pagePlan{totals: map[string]int{}}
	for _, st := range statuses {
		slots, total := x.column(project, st, offset, limit)
		p.totals[st] = total
		for _, sl := range slots {
			p.want = append(p.want, listed{sl, st})
		}
	}
	return p
}

func (p pagePlan) ids() []models.RecordID {
	ids := make([]models.RecordID, len(p.want))
	for i, w := range p.want {
		ids[i] = rid("tasks", w.id)
	}
	return ids
}

// same reports whether two plans list the same tasks at the same ranks.
func (p pagePlan) same(q pagePlan) bool {
	return slices.Equal(p.want, q.want) && maps.Equal(p.totals, q.totals)
}

// fill makes the page of rows read for the plan; ok is false when a record
// is no longer where the plan put it.
func (p pagePlan) fill(rows []pageRow, offset int) (Page, bool, error) {
	page := Page{Tasks: make([]Task, 0, len(rows)), Totals: p.totals}
	if len(rows) != len(p.want) {
		return Page{}, false, nil
	}
	next := map[string]int{}
	for i, r := range rows {
		t := r.task()
		if t.ID != p.want[i].id || r.Rank != p.want[i].rank || t.Status != p.want[i].status {
			return Page{}, false, nil
		}
		t.Order = offset + next[t.Status]
		next[t.Status]++
		page.Tasks = append(page.Tasks, t)
	}
	return page, true, nil
}
