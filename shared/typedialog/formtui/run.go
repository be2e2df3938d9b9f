package formtui

import (
	"errors"
	"fmt"
	"io"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/stratumiops/stratumiops/shared/typedialog/form"
	"github.com/stratumiops/stratumiops/shared/typedialog/i18n"
)

// ErrQuit is returned when the person leaves without submitting.
var ErrQuit = errors.New("form left without submitting")

// Run shows the form full-screen on in/out until the summary is submitted
// (answers returned) or the person quits (ErrQuit).
func Run(f *form.Form, submit Submit, loc *i18n.Localizer, in io.Reader, out io.Writer) (map[string]any, error) {
	m := New(f, submit, loc)
	final, err := tea.NewProgram(m, tea.WithAltScreen(), tea.WithInput(in), tea.WithOutput(out)).Run()
	if err != nil {
		return nil, fmt.Errorf("tui: %w", err)
	}
	answers, ok := final.(*Model).Submitted()
	if !ok {
		return nil, ErrQuit
	}
	return answers, nil
}
