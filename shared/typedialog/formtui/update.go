package formtui

import (
	"slices"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/stratumiops/stratumiops/shared/typedialog/form"
)

// Update implements tea.Model: navigation keys first, then the key goes to
// the current row.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	key, ok := msg.(tea.KeyMsg)
	if !ok {
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(msg)
		return m, cmd
	}
	switch key.String() {
	case "ctrl+c":
		m.quit = true
		return m, tea.Quit
	case "tab", "down":
		m.move(+1)
	case "shift+tab", "up":
		m.move(-1)
	case "esc", "pgup":
		m.back()
	case "enter", "pgdown":
		return m, m.forward()
	default:
		return m, m.edit(key)
	}
	return m, nil
}

func (m *Model) move(d int) {
	rows := m.rows()
	if len(rows) == 0 {
		return
	}
	m.touched[rows[min(m.cursor, len(rows)-1)].path] = true
	m.cursor = (m.cursor + d + len(rows)) % len(rows)
	m.opt = 0
	m.focus()
}

func (m *Model) back() {
	if m.page > 0 {
		m.page, m.cursor, m.problems = m.page-1, 0, nil
		m.focus()
	}
}

// forward leaves a page only when its visible fields pass; on the summary it
// submits.
func (m *Model) forward() tea.Cmd {
	if m.page >= len(m.f.Sections) {
		answers := m.Answers()
		if m.problems = m.submit(answers); len(m.problems) == 0 {
			m.answers = answers
			return tea.Quit
		}
		return nil
	}
	errs := m.f.Check(m.Answers()).Errors
	failing := false
	for _, r := range m.rows() {
		m.touched[r.path] = true
		failing = failing || len(errorsFor(errs, r)) > 0
	}
	if !failing {
		m.page, m.cursor = m.page+1, 0
		m.focus()
	}
	return nil
}

// current returns the row under the cursor.
func (m *Model) current() (row, bool) {
	rows := m.rows()
	if len(rows) == 0 {
		return row{}, false
	}
	m.cursor = min(m.cursor, len(rows)-1)
	return rows[m.cursor], true
}

// focus loads the current row's text into the input when it is a text row.
func (m *Model) focus() {
	m.input.Blur()
	r, ok := m.current()
	if !ok || !isText(r) {
		return
	}
	m.input = textinput.New()
	m.input.Placeholder = r.field.Placeholder
	if r.field.Type == form.TypePassword {
		m.input.EchoMode = textinput.EchoPassword
	}
	s, _ := m.get(r).(string)
	m.input.SetValue(s)
	m.input.Focus()
}

func isText(r row) bool {
	switch r.field.Type {
	case form.TypeText, form.TypePassword, form.TypeNumber, form.TypeDate:
		return !r.add
	}
	return false
}

func (m *Model) edit(key tea.KeyMsg) tea.Cmd {
	r, ok := m.current()
	if !ok {
		return nil
	}
	k := key.String()
	switch {
	case r.add:
		if k == " " {
			m.addItem(r.field)
		}
	case k == "ctrl+x" && r.item >= 0:
		m.removeItem(r)
	case isText(r):
		var cmd tea.Cmd
		m.input, cmd = m.input.Update(key)
		m.set(r, m.input.Value())
		return cmd
	case r.field.Type == form.TypeSelect:
		m.choose(r, k)
	case r.field.Type == form.TypeMultiSelect:
		m.toggle(r, k)
	case r.field.Type == form.TypeConfirm:
		b, _ := m.get(r).(bool)
		switch k {
		case " ", "left", "right":
			m.set(r, !b)
		case "y":
			m.set(r, true)
		case "n":
			m.set(r, false)
		}
	}
	return nil
}

func (m *Model) choose(r row, k string) {
	n := len(r.field.Options)
	if n == 0 {
		return
	}
	cur, _ := m.get(r).(string)
	i := slices.IndexFunc(r.field.Options, func(o form.Option) bool { return o.Value == cur })
	switch k {
	case "right", " ", "l":
		i = (i + 1) % n
	case "left", "h":
		i = (max(i, 0) - 1 + n) % n
	default:
		return
	}
	m.set(r, r.field.Options[i].Value)
}

func (m *Model) toggle(r row, k string) {
	n := len(r.field.Options)
	chosen, _ := m.get(r).([]string)
	switch k {
	case "right", "l":
		m.opt = (m.opt + 1) % max(n, 1)
	case "left", "h":
		m.opt = (m.opt - 1 + max(n, 1)) % max(n, 1)
	case " ", "x":
		if n == 0 {
			return
		}
		v := r.field.Options[m.opt].Value
		if i := slices.Index(chosen, v); i >= 0 {
			chosen = slices.Delete(slices.Clone(chosen), i, i+1)
		} else {
			chosen = append(slices.Clone(chosen), v)
		}
		m.set(r, chosen)
	}
}

func (m *Model) addItem(g form.Field) {
	items, _ := m.values[g.ID].([]map[string]any)
	m.values[g.ID] = append(items, itemDefaults(g))
	rows := m.rows()
	for i, r := range rows { // the new item's first row
		if r.group == g.ID && r.item == len(items) {
			m.cursor = i
			break
		}
	}
	m.focus()
}

func (m *Model) removeItem(r row) {
	items, _ := m.values[r.group].([]map[string]any)
	m.values[r.group] = slices.Delete(slices.Clone(items), r.item, r.item+1)
	m.focus()
}
