package form

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// FieldError is one failing answer and the rule it broke.
type FieldError struct {
	Field   string `json:"field"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

func (e FieldError) String() string { return fmt.Sprintf("%s: %s (%s)", e.Field, e.Message, e.Rule) }

// AnswersError lists every failing field at once.
type AnswersError struct{ Errors []FieldError }

func (e *AnswersError) Error() string {
	parts := make([]string, len(e.Errors))
	for i, fe := range e.Errors {
		parts[i] = fe.String()
	}
	return "answers: " + strings.Join(parts, "; ")
}

// Result is what validating a set of answers gives: the values of the visible
// fields (defaults applied, numbers normalised), which fields are visible,
// and every failure.
type Result struct {
	Values  map[string]any
	Visible []string
	Errors  []FieldError
}

// Check validates answers against the form. A field whose condition is false
// is neither validated nor kept; an answer to a field the form does not have
// is an error naming it.
func (f *Form) Check(answers map[string]any) Result {
	r := Result{Values: map[string]any{}}
	r.Errors = append(r.Errors, f.unknownAnswers(answers)...)
	for si := range f.Sections { // in place: a Field is large to copy into a list on every check
		for fi := range f.Sections[si].Fields {
			fl := &f.Sections[si].Fields[fi]
			if !fl.visible(r.Values, nil) {
				continue
			}
			r.Visible = append(r.Visible, fl.ID)
			v, errs := fl.validate(fl.ID, answers[fl.ID], r.Values)
			r.Errors = append(r.Errors, errs...)
			if v != nil && len(errs) == 0 {
				r.Values[fl.ID] = v
			}
		}
	}
	return r
}

// unknownAnswers is unknownKeys for the form's top-level fields.
func (f *Form) unknownAnswers(answers map[string]any) []FieldError {
	var out []FieldError
	for k := range answers {
		if _, ok := f.Lookup(k); !ok {
			out = append(out, FieldError{Field: k, Rule: "unknown", Message: "the form has no field " + Quote(k)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// Validate is Check returning an *AnswersError when anything fails.
func (f *Form) Validate(answers map[string]any) (map[string]any, error) {
	r := f.Check(answers)
	if len(r.Errors) > 0 {
		return nil, &AnswersError{Errors: r.Errors}
	}
	return r.Values, nil
}

func unknownKeys(fields []Field, answers map[string]any, prefix string) []FieldError {
	known := map[string]bool{}
	for _, fl := range fields {
		known[fl.ID] = true
	}
	var out []FieldError
	for k := range answers {
		if !known[k] {
			out = append(out, FieldError{Field: prefix + k, Rule: "unknown", Message: "the form has no field " + Quote(k)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Field < out[j].Field })
	return out
}

// CheckValue validates one answer to this field alone (conditions of nested
// fields see only the item): the prompts use it to re-ask.
func (fl Field) CheckValue(v any) *FieldError { return fl.checkValue(fl.ID, v) }

func (fl Field) checkValue(path string, v any) *FieldError {
	_, errs := fl.validate(path, v, map[string]any{})
	if len(errs) == 0 {
		return nil
	}
	return &errs[0]
}

// validate checks one (visible) field's answer and returns its normalised value.
func (fl Field) validate(path string, v any, env map[string]any) (any, []FieldError) {
	fail := func(rule, format string, args ...any) (any, []FieldError) {
		return nil, []FieldError{{Field: path, Rule: rule, Message: fmt.Sprintf(format, args...)}}
	}
	if isEmpty(v) {
		if fl.Default != nil && v == nil {
			v = fl.Default
		} else if fl.Required {
			return fail("required", "is required")
		} else if lo, _ := fl.ItemBounds(); lo != nil && *lo > 0 && (fl.Type == TypeGroup || fl.Type == TypeMultiSelect) {
			return nil, fl.itemCount(path, 0)
		} else {
			return nil, nil
		}
	}
	switch fl.Type {
	case TypeText, TypePassword:
		s, ok := v.(string)
		if !ok {
			return fail("type", "must be a string")
		}
		return fl.text(path, s)
	case TypeNumber:
		n, ok := number(v)
		if !ok {
			return fail("type", "must be a number")
		}
		return fl.number(path, n)
	case TypeConfirm:
		b, ok := v.(bool)
		if !ok {
			return fail("type", "must be true or false")
		}
		return b, nil
	case TypeDate:
		s, ok := v.(string)
		if !ok {
			return fail("type", "must be a date string")
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return fail("date", "must be a date as YYYY-MM-DD, got %s", Quote(s))
		}
		return s, nil
	case TypeSelect:
		s, ok := v.(string)
		if !ok {
			return fail("type", "must be one option value (a string)")
		}
		if !fl.hasOption(s) {
			return fail("options", "%s is not one of %s", Quote(s), fl.optionList())
		}
		return s, nil
	case TypeMultiSelect:
		return fl.multi(path, v)
	case TypeGroup:
		return fl.groupValue(path, v, env)
	}
	return fail("type", "has unknown type %q", fl.Type)
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case []string:
		return len(x) == 0
	}
	return false
}

func (fl Field) text(path, s string) (any, []FieldError) {
	var errs []FieldError
	n := utf8.RuneCountInString(s)
	r := fl.Validation
	if r.MinLength != nil && n < *r.MinLength {
		errs = append(errs, FieldError{path, "min_length", fmt.Sprintf("must be at least %d characters, got %d", *r.MinLength, n)})
	}
	if r.MaxLength != nil && n > *r.MaxLength {
		errs = append(errs, FieldError{path, "max_length", fmt.Sprintf("must be at most %d characters, got %d", *r.MaxLength, n)})
	}
	if r.Pattern != "" {
		re, err := compile(r.Pattern)
		if err != nil || !re.MatchString(s) {
			errs = append(errs, FieldError{path, "pattern", fmt.Sprintf("must match %s", r.Pattern)})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

func (fl Field) number(path string, n float64) (any, []FieldError) {
	r := fl.Validation
	if r.Min != nil && n < *r.Min {
		return nil, []FieldError{{path, "min", fmt.Sprintf("must be at least %v, got %v", *r.Min, n)}}
	}
	if r.Max != nil && n > *r.Max {
		return nil, []FieldError{{path, "max", fmt.Sprintf("must be at most %v, got %v", *r.Max, n)}}
	}
	if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
		return int64(n), nil
	}
	return n, nil
}

func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

func (fl Field) hasOption(s string) bool {
	for _, o := range fl.Options {
		if o.Value == s {
			return true
		}
	}
	return false
}

func (fl Field) optionList() string {
	vals := make([]string, len(fl.Options))
	for i, o := range fl.Options {
		vals[i] = o.Value
	}
	return strings.Join(vals, ", ")
}

func (fl Field) multi(path string, v any) (any, []FieldError) {
	items, ok := stringList(v)
	if !ok {
		return nil, []FieldError{{path, "type", "must be a list of option values"}}
	}
	var errs []FieldError
	seen := map[string]bool{}
	for _, s := range items {
		if !fl.hasOption(s) {
			errs = append(errs, FieldError{path, "options", fmt.Sprintf("%s is not one of %s", Quote(s), fl.optionList())})
		} else if seen[s] {
			errs = append(errs, FieldError{path, "options", Quote(s) + " is chosen twice"})
		}
		seen[s] = true
	}
	errs = append(errs, fl.itemCount(path, len(items))...)
	if len(errs) > 0 {
		return nil, errs
	}
	out := make([]any, len(items))
	for i, s := range items {
		out[i] = s
	}
	return out, nil
}

func stringList(v any) ([]string, bool) {
	switch x := v.(type) {
	case []string:
		return x, true
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = s
		}
		return out, true
	}
	return nil, false
}

func (fl Field) itemCount(path string, n int) []FieldError {
	lo, hi := fl.ItemBounds()
	if lo != nil && n < *lo {
		return []FieldError{{path, "min_items", fmt.Sprintf("needs at least %d items, got %d", *lo, n)}}
	}
	if hi != nil && n > *hi {
		return []FieldError{{path, "max_items", fmt.Sprintf("allows at most %d items, got %d", *hi, n)}}
	}
	return nil
}

var patternCache = map[string]*regexp.Regexp{}

func compile(p string) (*regexp.Regexp, error) {
	patternMu.Lock()
	defer patternMu.Unlock()
	if re, ok := patternCache[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err == nil && len(patternCache) < 4096 {
		patternCache[p] = re
	}
	return re, err
}

// Shows reports whether the field id is visible in this result.
func (r Result) Shows(id string) bool {
	for _, v := range r.Visible {
		if v == id {
			return true
		}
	}
	return false
}
