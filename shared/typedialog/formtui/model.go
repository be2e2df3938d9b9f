// Package formtui is TypeDialog's full-screen back-end (`stratum form tui`):
// one page per section, the visible fields as rows, each failing rule shown
// under its field, a summary page before submit, back and forward keys.
package formtui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/stratumiops/stratumiops/shared/typedialog/form"
	"github.com/stratumiops/stratumiops/shared/typedialog/i18n"
)

// Submit checks the answers a person confirmed on the summary page (the
// answers validator, then the form's contract) and returns every problem;
// none ends the program.
type Submit func(answers map[string]any) []string

// Model is the bubbletea model of one form being answered.
type Model struct {
	f        *form.Form
	values   map[string]any // raw answers: strings, []string, bool, group items
	page     int            // len(f.Sections) is the summary
	cursor   int
	opt      int // option cursor of a multi-select row
	input    textinput.Model
	touched  map[string]bool // rows whose errors are shown
	submit   Submit
	problems []string
	loc      *i18n.Localizer
	answers  map[string]any // set when submitted
	quit     bool
}

// New starts a form (localized by loc) on its first page with defaults and
// the minimum number of items of each repeatable group.
func New(f *form.Form, submit Submit, loc *i18n.Localizer) *Model {
	m := &Model{f: f, values: map[string]any{}, touched: map[string]bool{}, submit: submit, loc: loc}
	for _, fl := range f.Fields() {
		m.values[fl.ID] = initial(fl)
	}
	m.input = textinput.New()
	m.focus()
	return m
}

func initial(fl form.Field) any {
	switch fl.Type {
	case form.TypeGroup:
		if !fl.Repeatable {
			return itemDefaults(fl)
		}
		lo, _ := fl.ItemBounds()
		items := []map[string]any{}
		for n := 0; n == 0 || (lo != nil && n < *lo); n++ {
			items = append(items, itemDefaults(fl))
		}
		return items
	case form.TypeConfirm:
		b, _ := fl.Default.(bool)
		return b
	case form.TypeMultiSelect:
		var out []string
		if list, ok := fl.Default.([]any); ok {
			for _, v := range list {
				out = append(out, fmt.Sprint(v))
			}
		}
		return out
	case form.TypeSelect:
		if fl.Default == nil && len(fl.Options) > 0 && fl.Required {
			return fl.Options[0].Value
		}
	}
	if fl.Default == nil {
		return ""
	}
	return fmt.Sprint(fl.Default)
}

func itemDefaults(fl form.Field) map[string]any {
	item := map[string]any{}
	for _, sub := range fl.Fields {
		item[sub.ID] = initial(sub)
	}
	return item
}

// Answers converts the raw values into answers for the validator: empty
// texts left out, numbers parsed when they parse.
func (m *Model) Answers() map[string]any { return answersOf(m.f.Fields(), m.values) }

func answersOf(fields []form.Field, values map[string]any) map[string]any {
	out := map[string]any{}
	for _, fl := range fields {
		if v := answer(fl, values[fl.ID]); v != nil {
			out[fl.ID] = v
		}
	}
	return out
}

func answer(fl form.Field, raw any) any {
	switch v := raw.(type) {
	case string:
		if strings.TrimSpace(v) == "" {
			return nil
		}
		if fl.Type == form.TypeNumber {
			if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return n
			}
		}
		return v
	case []string:
		list := make([]any, len(v))
		for i, s := range v {
			list[i] = s
		}
		return list
	case map[string]any:
		return answersOf(fl.Fields, v)
	case []map[string]any:
		list := make([]any, len(v))
		for i, item := range v {
			list[i] = answersOf(fl.Fields, item)
		}
		return list
	}
	return raw
}

// Submitted returns the answers once the summary was submitted, or false
// when the person quit.
func (m *Model) Submitted() (map[string]any, bool) { return m.answers, m.answers != nil }

// Init implements tea.Model.
func (m *Model) Init() tea.Cmd { return textinput.Blink }
