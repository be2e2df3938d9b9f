package formcli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/huh"

	"github.com/stratumiops/stratumiops/shared/typedialog/form"
	"github.com/stratumiops/stratumiops/shared/typedialog/i18n"
)

// Ask asks every visible field in order, one prompt at a time so each
// condition sees the answers before it. A bad answer is re-asked with the
// rule it broke; repeatable groups ask "add another?" within min/max. The
// form comes localized; loc words the rule messages and questions.
func Ask(f *form.Form, run func(*huh.Form) error, loc *i18n.Localizer) (map[string]any, error) {
	p := prompter{run: run, loc: loc}
	values := map[string]any{}
	for _, s := range f.Sections {
		for _, fl := range s.Fields {
			if !f.Check(values).Shows(fl.ID) {
				continue
			}
			v, err := p.askField(fl, "")
			if err != nil {
				return nil, err
			}
			if v != nil {
				values[fl.ID] = v
			}
		}
	}
	return values, nil
}

// prompter runs the prompts in the person's language.
type prompter struct {
	run func(*huh.Form) error
	loc *i18n.Localizer
}

func (p prompter) askField(fl form.Field, prefix string) (any, error) {
	run := p.run
	title := prefix + fl.Label
	if title == prefix {
		title = prefix + fl.ID
	}
	switch fl.Type {
	case form.TypeConfirm:
		b, _ := fl.Default.(bool)
		err := run(huh.NewForm(huh.NewGroup(huh.NewConfirm().Title(title).Description(fl.Help).Value(&b))))
		return b, err
	case form.TypeSelect:
		return askSelect(fl, title, run)
	case form.TypeMultiSelect:
		return p.askMulti(fl, title)
	case form.TypeGroup:
		return p.askGroup(fl, prefix)
	}
	return p.askText(fl, title)
}

// askText asks text, password, number and date fields.
func (p prompter) askText(fl form.Field, title string) (any, error) {
	run := p.run
	var s string
	if fl.Default != nil {
		s = fmt.Sprint(fl.Default)
	}
	convert := func(s string) (any, error) {
		if fl.Type != form.TypeNumber || strings.TrimSpace(s) == "" {
			return s, nil
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, fmt.Errorf("must be a number (type)")
		}
		return n, nil
	}
	in := huh.NewInput().Title(title).Description(fl.Help).Placeholder(fl.Placeholder).Value(&s).
		Validate(func(s string) error {
			v, err := convert(s)
			if err != nil {
				return err
			}
			return p.ruleError(fl, v)
		})
	if fl.Type == form.TypePassword {
		in = in.EchoMode(huh.EchoModePassword)
	}
	if err := run(huh.NewForm(huh.NewGroup(in))); err != nil {
		return nil, err
	}
	if s == "" {
		return nil, nil
	}
	return convert(s)
}

func (p prompter) ruleError(fl form.Field, v any) error {
	if s, ok := v.(string); ok && s == "" {
		v = nil
	}
	if fe := fl.CheckValue(v); fe != nil {
		e := p.loc.ErrorFor(fl, *fe)
		return fmt.Errorf("%s (%s)", e.Message, e.Rule)
	}
	return nil
}

func options(fl form.Field) []huh.Option[string] {
	opts := make([]huh.Option[string], len(fl.Options))
	for i, o := range fl.Options {
		label := o.Label
		if label == "" {
			label = o.Value
		}
		opts[i] = huh.NewOption(label, o.Value)
	}
	return opts
}

func askSelect(fl form.Field, title string, run func(*huh.Form) error) (any, error) {
	s, _ := fl.Default.(string)
	sel := huh.NewSelect[string]().Title(title).Description(fl.Help).Options(options(fl)...).Value(&s)
	if err := run(huh.NewForm(huh.NewGroup(sel))); err != nil {
		return nil, err
	}
	return s, nil
}

func (p prompter) askMulti(fl form.Field, title string) (any, error) {
	run := p.run
	var chosen []string
	ms := huh.NewMultiSelect[string]().Title(title).Description(fl.Help).Options(options(fl)...).Value(&chosen).
		Validate(func(c []string) error {
			list := make([]any, len(c))
			for i, s := range c {
				list[i] = s
			}
			return p.ruleError(fl, list)
		})
	if err := run(huh.NewForm(huh.NewGroup(ms))); err != nil {
		return nil, err
	}
	out := make([]any, len(chosen))
	for i, s := range chosen {
		out[i] = s
	}
	return out, nil
}

// askGroup asks a group's fields once, or item after item for a repeatable
// group: at least min_items, then "add another?" until max_items.
func (p prompter) askGroup(fl form.Field, prefix string) (any, error) {
	run := p.run
	if !fl.Repeatable {
		return p.askItem(fl, prefix+fl.Label+": ")
	}
	lo, hi := fl.ItemBounds()
	var items []any
	for n := 1; ; n++ {
		item, err := p.askItem(fl, fmt.Sprintf("%s%s #%d: ", prefix, fl.Label, n))
		if err != nil {
			return nil, err
		}
		items = append(items, item)
		if hi != nil && len(items) >= *hi {
			return items, nil
		}
		if lo != nil && len(items) < *lo {
			continue
		}
		more := false
		question := fmt.Sprintf("Add another %s?", strings.ToLower(fl.Label))
		if p.loc != nil {
			question = p.loc.Text("cli-add-another", question, map[string]any{"label": strings.ToLower(fl.Label)})
		}
		q := huh.NewConfirm().Title(question).Value(&more)
		if err := run(huh.NewForm(huh.NewGroup(q))); err != nil {
			return nil, err
		}
		if !more {
			return items, nil
		}
	}
}

func (p prompter) askItem(fl form.Field, prefix string) (map[string]any, error) {
	item := map[string]any{}
	sub := form.Form{Sections: []form.Section{{Fields: fl.Fields}}}
	for _, f := range fl.Fields {
		if !sub.Check(item).Shows(f.ID) {
			continue
		}
		v, err := p.askField(f, prefix)
		if err != nil {
			return nil, err
		}
		if v != nil {
			item[f.ID] = v
		}
	}
	return item, nil
}
