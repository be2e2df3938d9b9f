package formtui

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/stratumiops/stratumiops/shared/typedialog/form"
)

// t words the TUI in the person's language (i18n/locales/*.ftl).
func (m *Model) t(id string, args map[string]any) string { return m.loc.Text(id, id, args) }

func (m *Model) pageOf(page, total int) string {
	return m.t("tui-page", map[string]any{"page": page, "total": total})
}

// View implements tea.Model.
func (m *Model) View() string {
	if m.answers != nil || m.quit {
		return ""
	}
	var b strings.Builder
	total := len(m.f.Sections) + 1
	if m.page >= len(m.f.Sections) {
		fmt.Fprintf(&b, "%s — %s (%s)\n\n", m.f.Form.Title, m.t("tui-summary", nil), m.pageOf(total, total))
		m.summary(&b)
		return b.String()
	}
	s := m.f.Sections[m.page]
	fmt.Fprintf(&b, "%s — %s (%s)\n", m.f.Form.Title, s.Title, m.pageOf(m.page+1, total))
	if s.Description != "" {
		fmt.Fprintf(&b, "%s\n", s.Description)
	}
	b.WriteString("\n")
	errs := m.loc.Errors(m.f, m.f.Check(m.Answers()).Errors)
	for i, r := range m.rows() {
		cursor := "  "
		if i == m.cursor {
			cursor = "> "
		}
		fmt.Fprintf(&b, "%s%s\n", cursor, m.line(r, i == m.cursor))
		if m.touched[r.path] {
			for _, e := range errorsFor(errs, r) {
				fmt.Fprintf(&b, "    ✗ %s\n", e)
			}
		}
	}
	fmt.Fprintf(&b, "\n%s\n", m.t("tui-keys", nil))
	return b.String()
}

func (m *Model) line(r row, focused bool) string {
	if r.add {
		return m.t("tui-add", map[string]any{"label": r.label})
	}
	v := m.get(r)
	switch r.field.Type {
	case form.TypeSelect:
		var opts []string
		for _, o := range r.field.Options {
			mark := " "
			if o.Value == v {
				mark = "•"
			}
			opts = append(opts, fmt.Sprintf("(%s) %s", mark, optionLabel(o)))
		}
		return fmt.Sprintf("%s: %s", r.label, strings.Join(opts, "  "))
	case form.TypeMultiSelect:
		chosen, _ := v.([]string)
		var opts []string
		for i, o := range r.field.Options {
			mark, open, shut := " ", " ", " "
			if slices.Contains(chosen, o.Value) {
				mark = "x"
			}
			if focused && i == m.opt {
				open, shut = "‹", "›"
			}
			opts = append(opts, fmt.Sprintf("%s[%s] %s%s", open, mark, optionLabel(o), shut))
		}
		return fmt.Sprintf("%s: %s", r.label, strings.Join(opts, " "))
	case form.TypeConfirm:
		if b, _ := v.(bool); b {
			return fmt.Sprintf("%s: [%s]", r.label, m.t("yes", nil))
		}
		return fmt.Sprintf("%s: [%s]", r.label, m.t("no", nil))
	}
	if focused {
		return fmt.Sprintf("%s: %s", r.label, m.input.View())
	}
	s, _ := v.(string)
	if r.field.Type == form.TypePassword {
		s = strings.Repeat("*", len(s))
	}
	return fmt.Sprintf("%s: %s", r.label, s)
}

func optionLabel(o form.Option) string {
	if o.Label != "" {
		return o.Label
	}
	return o.Value
}

// summary lists every answer that will be output, then submit's problems.
func (m *Model) summary(b *strings.Builder) {
	values := m.f.Check(m.Answers()).Values
	flat := map[string]string{}
	flatten("", values, flat)
	keys := make([]string, 0, len(flat))
	for k := range flat {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(b, "  %s: %s\n", k, flat[k])
	}
	if len(m.problems) > 0 {
		fmt.Fprintf(b, "\n%s\n", m.t("tui-problems", nil))
		for _, p := range m.problems {
			fmt.Fprintf(b, "    ✗ %s\n", p)
		}
	}
	fmt.Fprintf(b, "\n%s\n", m.t("tui-summary-keys", nil))
}

func flatten(prefix string, v any, out map[string]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, sub := range t {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			flatten(p, sub, out)
		}
	case []any:
		if len(t) > 0 {
			if _, isMap := t[0].(map[string]any); isMap {
				for i, sub := range t {
					flatten(fmt.Sprintf("%s[%d]", prefix, i), sub, out)
				}
				return
			}
		}
		parts := make([]string, len(t))
		for i, s := range t {
			parts[i] = fmt.Sprint(s)
		}
		out[prefix] = strings.Join(parts, ", ")
	default:
		out[prefix] = fmt.Sprint(t)
	}
}
