package formtui

import (
	"fmt"
	"strings"

	"github.com/stratumiops/stratumiops/shared/typedialog/form"
)

// row is one line a person can move to: a field, a field of a group item,
// or a group's "add item" line.
type row struct {
	path  string // the validator's path: id, group[i].id, group.id
	field form.Field
	group string // the group's id when the row belongs to one
	item  int    // the item index in a repeatable group; -1 otherwise
	add   bool
	label string
}

// rows lists the visible rows of the current page.
func (m *Model) rows() []row {
	if m.page >= len(m.f.Sections) {
		return nil
	}
	check := m.f.Check(m.Answers())
	var out []row
	for _, fl := range m.f.Sections[m.page].Fields {
		if !check.Shows(fl.ID) {
			continue
		}
		if fl.Type != form.TypeGroup {
			out = append(out, row{path: fl.ID, field: fl, item: -1, label: label(fl)})
			continue
		}
		out = append(out, m.groupRows(fl)...)
	}
	return out
}

func (m *Model) groupRows(g form.Field) []row {
	sub := &form.Form{Sections: []form.Section{{Fields: g.Fields}}}
	itemRows := func(item map[string]any, path, prefix string, idx int) []row {
		var out []row
		shown := sub.Check(answersOf(g.Fields, item))
		for _, fl := range g.Fields {
			if shown.Shows(fl.ID) {
				out = append(out, row{path: path + "." + fl.ID, field: fl, group: g.ID, item: idx, label: prefix + label(fl)})
			}
		}
		return out
	}
	if !g.Repeatable {
		item, _ := m.values[g.ID].(map[string]any)
		return itemRows(item, g.ID, label(g)+": ", -1)
	}
	items, _ := m.values[g.ID].([]map[string]any)
	var out []row
	for i, item := range items {
		out = append(out, itemRows(item, fmt.Sprintf("%s[%d]", g.ID, i), fmt.Sprintf("%s #%d: ", label(g), i+1), i)...)
	}
	if _, hi := g.ItemBounds(); hi == nil || len(items) < *hi {
		out = append(out, row{path: g.ID, field: g, group: g.ID, item: -1, add: true, label: label(g)})
	}
	return out
}

func label(fl form.Field) string {
	if fl.Label != "" {
		return fl.Label
	}
	return fl.ID
}

// get and set read and write a row's raw value.
func (m *Model) get(r row) any {
	if r.group == "" {
		return m.values[r.field.ID]
	}
	if item := m.item(r); item != nil {
		return item[r.field.ID]
	}
	return nil
}

func (m *Model) set(r row, v any) {
	if r.group == "" {
		m.values[r.field.ID] = v
		return
	}
	if item := m.item(r); item != nil {
		item[r.field.ID] = v
	}
}

func (m *Model) item(r row) map[string]any {
	if r.item < 0 {
		item, _ := m.values[r.group].(map[string]any)
		return item
	}
	items, _ := m.values[r.group].([]map[string]any)
	if r.item < len(items) {
		return items[r.item]
	}
	return nil
}

// errorsFor returns the validator's messages for a row: its own path, and
// for an "add item" row the group's item-count rule.
func errorsFor(errs []form.FieldError, r row) []string {
	var out []string
	for _, fe := range errs {
		if fe.Field == r.path || (!r.add && r.group == "" && strings.HasPrefix(fe.Field, r.path+"[")) {
			out = append(out, fmt.Sprintf("%s (%s)", fe.Message, fe.Rule))
		}
	}
	return out
}
