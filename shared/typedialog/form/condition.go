package form

import "reflect"

// visible reports whether a field is shown given the values so far: scope
// first (the group item), then outer (the form).
func (fl Field) visible(scope, outer map[string]any) bool {
	if fl.Condition.IsZero() {
		return true
	}
	return fl.Condition.holds(scope, outer)
}

func (c Condition) holds(scope, outer map[string]any) bool {
	switch {
	case len(c.All) > 0:
		for _, sub := range c.All {
			if !sub.holds(scope, outer) {
				return false
			}
		}
		return true
	case len(c.Any) > 0:
		for _, sub := range c.Any {
			if sub.holds(scope, outer) {
				return true
			}
		}
		return false
	}
	v, ok := scope[c.Field]
	if !ok && outer != nil {
		v, ok = outer[c.Field]
	}
	switch {
	case c.Equals != nil:
		return ok && same(v, c.Equals)
	case c.NotEquals != nil:
		return !ok || !same(v, c.NotEquals)
	case c.In != nil:
		if !ok {
			return false
		}
		for _, want := range c.In {
			if same(v, want) {
				return true
			}
		}
	}
	return false
}

// same compares an answer with a condition value: numbers by value, a list
// answer (multi-select) when it contains the value.
func same(v, want any) bool {
	if a, ok := number(v); ok {
		b, ok := number(want)
		return ok && a == b
	}
	if list, ok := v.([]any); ok {
		for _, e := range list {
			if same(e, want) {
				return true
			}
		}
		return false
	}
	return reflect.DeepEqual(v, want)
}

// VisibleFields lists the top-level fields shown for these answers.
func (f *Form) VisibleFields(answers map[string]any) []string {
	return f.Check(answers).Visible
}
