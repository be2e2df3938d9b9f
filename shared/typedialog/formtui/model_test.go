package formtui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/stratumiops/stratumiops/shared/typedialog/form"
	"github.com/stratumiops/stratumiops/shared/typedialog/i18n"
)

const kinds = `[form]
id = "kinds"
title = "Kinds"
[[sections]]
id = "s"
title = "One"
[[sections.fields]]
id = "port"
type = "number"
label = "Port"
validation.min = 1
validation.max = 65535
[[sections.fields]]
id = "secret"
type = "password"
label = "Secret"
[[sections.fields]]
id = "tls"
type = "confirm"
label = "TLS"
[[sections.fields]]
id = "since"
type = "date"
label = "Since"
`

func keys(m *Model, ks ...string) {
	for _, k := range ks {
		var msg tea.KeyMsg
		switch k {
		case "tab":
			msg = tea.KeyMsg{Type: tea.KeyTab}
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "space":
			msg = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}
		case "backspace":
			msg = tea.KeyMsg{Type: tea.KeyBackspace}
		default:
			msg = tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(k)}
		}
		m.Update(msg)
	}
}

// Numbers, passwords, confirms and dates as the model turns keys into
// answers; a number out of range blocks the page with its rule.
func TestModelKinds(t *testing.T) {
	f, err := form.Parse("kinds.toml", []byte(kinds))
	if err != nil {
		t.Fatal(err)
	}
	var submitted map[string]any
	m := New(f, func(a map[string]any) []string { submitted = a; return nil }, i18n.NewBundle().Localizer("en"))
	keys(m, "7", "0", "0", "0", "0", "tab", "s3cret", "tab", "space", "tab", "2026-01-02", "enter")
	if v := m.View(); !strings.Contains(v, "must be at most 65535") || !strings.Contains(v, "Secret: ******") || !strings.Contains(v, "TLS: [yes]") {
		t.Fatalf("view:\n%s", v)
	}
	keys(m, "tab", "backspace", "enter") // back on Port: 7000
	if !strings.Contains(m.View(), "Summary") {
		t.Fatalf("not on the summary:\n%s", m.View())
	}
	keys(m, "enter")
	got, ok := m.Submitted()
	if !ok || got["port"] != 7000.0 || got["secret"] != "s3cret" || got["tls"] != true || got["since"] != "2026-01-02" || submitted == nil {
		t.Fatalf("answers %v", got)
	}
}
