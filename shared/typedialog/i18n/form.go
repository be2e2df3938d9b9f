package i18n

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/stratumiops/stratumiops/shared/typedialog/form"
)

// A form's messages, in its .ftl files:
//
//	form-title = …             form-description = …
//	section-<id> = title         .description = …
//	<field id> = label           .help = …  .placeholder = …  .option-<value> = …
//	<group id>-<field id> = …    (a group's fields, same attributes)
//
// Rule messages are TypeDialog's own (rule-<rule>), with the rule's bounds
// as variables; without a translation the engine's English message stays.

// Form returns a copy of f with every text the chain translates.
func (l *Localizer) Form(f *form.Form) *form.Form {
	out := *f
	out.Form.Title = l.Text("form-title", f.Form.Title, nil)
	out.Form.Description = l.Text("form-description", f.Form.Description, nil)
	out.Sections = make([]form.Section, len(f.Sections))
	for i, s := range f.Sections {
		s.Title = l.Text("section-"+s.ID, s.Title, nil)
		s.Description = l.Text("section-"+s.ID+".description", s.Description, nil)
		s.Fields = l.fields(s.Fields, "")
		out.Sections[i] = s
	}
	return &out
}

func (l *Localizer) fields(fields []form.Field, prefix string) []form.Field {
	out := make([]form.Field, len(fields))
	for i, fl := range fields {
		id := prefix + fl.ID
		fl.Label = l.Text(id, fl.Label, nil)
		fl.Help = l.Text(id+".help", fl.Help, nil)
		fl.Placeholder = l.Text(id+".placeholder", fl.Placeholder, nil)
		if len(fl.Options) > 0 {
			opts := make([]form.Option, len(fl.Options))
			for j, o := range fl.Options {
				o.Label = l.Text(id+".option-"+o.Value, o.Label, nil)
				opts[j] = o
			}
			fl.Options = opts
		}
		if len(fl.Fields) > 0 {
			fl.Fields = l.fields(fl.Fields, id+"-")
		}
		out[i] = fl
	}
	return out
}

var index = regexp.MustCompile(`\[\d+\]`)

// Error returns fe with its message in the chain's language: rule-<rule>
// with the field's bounds as variables (min, max, pattern, options, label).
func (l *Localizer) Error(f *form.Form, fe form.FieldError) form.FieldError {
	fl, ok := lookupPath(f, index.ReplaceAllString(fe.Field, ""))
	return l.fieldError(fl, ok, fe)
}

// ErrorFor is Error for a field at hand (a prompt checking one answer).
func (l *Localizer) ErrorFor(fl form.Field, fe form.FieldError) form.FieldError {
	if l == nil {
		return fe
	}
	return l.fieldError(fl, true, fe)
}

func (l *Localizer) fieldError(fl form.Field, ok bool, fe form.FieldError) form.FieldError {
	args := map[string]any{"field": fe.Field}
	if ok {
		v := fl.Validation
		args["label"] = fl.Label
		args["pattern"] = v.Pattern
		args["options"] = optionValues(fl)
		setInt(args, "min", v.MinLength, fe.Rule == "min_length")
		setInt(args, "max", v.MaxLength, fe.Rule == "max_length")
		setFloat(args, "min", v.Min, fe.Rule == "min")
		setFloat(args, "max", v.Max, fe.Rule == "max")
		lo, hi := fl.ItemBounds()
		setInt(args, "min", lo, fe.Rule == "min_items")
		setInt(args, "max", hi, fe.Rule == "max_items")
	}
	fe.Message = l.Text("rule-"+fe.Rule, fe.Message, args)
	return fe
}

// Errors localizes each error.
func (l *Localizer) Errors(f *form.Form, errs []form.FieldError) []form.FieldError {
	out := make([]form.FieldError, len(errs))
	for i, fe := range errs {
		out[i] = l.Error(f, fe)
	}
	return out
}

func setInt(args map[string]any, k string, v *int, when bool) {
	if when && v != nil {
		args[k] = *v
	}
}

func setFloat(args map[string]any, k string, v *float64, when bool) {
	if when && v != nil {
		args[k] = *v
	}
}

func optionValues(fl form.Field) string {
	vals := make([]string, len(fl.Options))
	for i, o := range fl.Options {
		vals[i] = o.Value
	}
	return strings.Join(vals, ", ")
}

// lookupPath finds a field by its dotted path (group.field).
func lookupPath(f *form.Form, path string) (form.Field, bool) {
	parts := strings.Split(path, ".")
	fields := f.Fields()
	var found form.Field
	for _, p := range parts {
		ok := false
		for _, fl := range fields {
			if fl.ID == p {
				found, fields, ok = fl, fl.Fields, true
				break
			}
		}
		if !ok {
			return form.Field{}, false
		}
	}
	return found, true
}

// String is a short description for logs.
func (l *Localizer) String() string { return fmt.Sprintf("i18n%v", l.chain) }
