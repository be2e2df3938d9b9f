package form

import (
	"fmt"
	"regexp"
	"strconv"
)

var (
	knownTypes   = map[string]bool{TypeText: true, TypePassword: true, TypeNumber: true, TypeConfirm: true, TypeSelect: true, TypeMultiSelect: true, TypeDate: true, TypeGroup: true}
	knownFormats = map[string]bool{"": true, FormatJSON: true, FormatYAML: true, FormatTOML: true, FormatNickel: true}
	displayModes = map[string]bool{"": true, "list": true, "grid": true, "dropdown": true}
)

// checker collects every definition problem with its position.
type checker struct {
	file     string
	pos      positions
	problems []Problem
}

func (c *checker) add(path, format string, args ...any) {
	p := c.pos.of(path)
	c.problems = append(c.problems, Problem{File: c.file, Line: p.Line, Column: p.Column, Message: fmt.Sprintf(format, args...)})
}

// scope is the set of field ids a condition may name: those declared before.
type scope struct {
	parent *scope
	order  map[string]int // id → declaration order
	paths  map[string]string
	next   int
}

func newScope(parent *scope) *scope {
	return &scope{parent: parent, order: map[string]int{}, paths: map[string]string{}}
}

func (c *checker) check(f *Form) {
	if f.Form.ID == "" {
		c.add("form", "[form] id is required")
	}
	if !knownFormats[f.Output.Format] {
		c.add("output.format", "unknown output format %q (json, yaml, toml or nickel)", f.Output.Format)
	}
	if len(f.Sections) == 0 {
		c.add("", "a form needs at least one [[sections]] with fields")
	}
	top := newScope(nil)
	all := map[string]bool{}
	for _, fl := range f.Fields() {
		all[fl.ID] = true
	}
	for si, s := range f.Sections {
		for fi, fl := range s.Fields {
			c.field(fl, fmt.Sprintf("sections[%d].fields[%d]", si, fi), top, all)
		}
	}
}

func (c *checker) field(fl Field, path string, sc *scope, all map[string]bool) {
	switch {
	case fl.ID == "":
		c.add(path, "field has no id")
	case sc.order[fl.ID] > 0:
		first := c.pos.of(sc.paths[fl.ID])
		c.add(path+".id", "duplicate field id %q (first declared at line %d)", fl.ID, first.Line)
	}
	if !knownTypes[fl.Type] {
		c.add(path+".type", "field %q: unknown field type %q", fl.ID, fl.Type)
	}
	if !fl.Condition.IsZero() {
		c.condition(fl.ID, fl.Condition, path+".condition", sc, all)
	}
	sc.next++
	if fl.ID != "" && sc.order[fl.ID] == 0 {
		sc.order[fl.ID], sc.paths[fl.ID] = sc.next, path
	}
	c.rules(fl, path)
	c.options(fl, path)
	c.group(fl, path, sc)
	if fl.Default != nil && knownTypes[fl.Type] {
		if fe := fl.checkValue(fl.ID, fl.Default); fe != nil {
			c.add(path+".default", "field %q: default breaks its own rule %s: %s", fl.ID, fe.Rule, fe.Message)
		}
	}
}

func (c *checker) condition(owner string, cond Condition, path string, sc *scope, all map[string]bool) {
	set := 0
	for _, b := range []bool{cond.Field != "", len(cond.All) > 0, len(cond.Any) > 0} {
		if b {
			set++
		}
	}
	if set != 1 {
		c.add(path, "field %q: a condition needs exactly one of field, all or any", owner)
	}
	if cond.Field != "" {
		ops := 0
		for _, b := range []bool{cond.Equals != nil, cond.NotEquals != nil, cond.In != nil} {
			if b {
				ops++
			}
		}
		if ops != 1 {
			c.add(path, "field %q: condition on %q needs exactly one of equals, not_equals or in", owner, cond.Field)
		}
		c.conditionTarget(owner, cond.Field, path, sc, all)
	}
	for i, sub := range cond.All {
		c.condition(owner, sub, path+".all["+strconv.Itoa(i)+"]", sc, all)
	}
	for i, sub := range cond.Any {
		c.condition(owner, sub, path+".any["+strconv.Itoa(i)+"]", sc, all)
	}
}

func (c *checker) conditionTarget(owner, target, path string, sc *scope, all map[string]bool) {
	for s := sc; s != nil; s = s.parent {
		if s.order[target] > 0 {
			return
		}
	}
	if target == owner {
		c.add(path+".field", "field %q: condition refers to the field itself", owner)
	} else if all[target] {
		c.add(path+".field", "field %q: condition refers to field %q, which is declared later", owner, target)
	} else {
		c.add(path+".field", "field %q: condition refers to missing field %q", owner, target)
	}
}

func (c *checker) rules(fl Field, path string) {
	v := fl.Validation
	if v.Pattern != "" {
		if _, err := regexp.Compile(v.Pattern); err != nil {
			c.add(path+".validation.pattern", "field %q: bad pattern: %v", fl.ID, err)
		}
	}
	if v.MinLength != nil && v.MaxLength != nil && *v.MinLength > *v.MaxLength {
		c.add(path+".validation.min_length", "field %q: min_length %d > max_length %d", fl.ID, *v.MinLength, *v.MaxLength)
	}
	if v.Min != nil && v.Max != nil && *v.Min > *v.Max {
		c.add(path+".validation.min", "field %q: min %v > max %v", fl.ID, *v.Min, *v.Max)
	}
	if lo, hi := fl.ItemBounds(); lo != nil && hi != nil && *lo > *hi {
		c.add(path+".min_items", "field %q: min_items %d > max_items %d", fl.ID, *lo, *hi)
	}
	for _, n := range []*int{v.MinLength, v.MaxLength, v.MinItems, v.MaxItems, fl.MinItems, fl.MaxItems} {
		if n != nil && *n < 0 {
			c.add(path, "field %q: a length or item bound is negative", fl.ID)
			break
		}
	}
	if !displayModes[fl.DisplayMode] {
		c.add(path+".display_mode", "field %q: unknown display_mode %q (list, grid or dropdown)", fl.ID, fl.DisplayMode)
	}
}

func (c *checker) options(fl Field, path string) {
	choice := fl.Type == TypeSelect || fl.Type == TypeMultiSelect
	if choice && len(fl.Options) == 0 {
		c.add(path, "field %q: a %s needs options", fl.ID, fl.Type)
	}
	if !choice && len(fl.Options) > 0 {
		c.add(path+".options", "field %q: options are only for select and multi-select", fl.ID)
	}
	seen := map[string]bool{}
	for i, o := range fl.Options {
		if seen[o.Value] {
			c.add(fmt.Sprintf("%s.options[%d]", path, i), "field %q: duplicate option value %q", fl.ID, o.Value)
		}
		seen[o.Value] = true
	}
}

func (c *checker) group(fl Field, path string, sc *scope) {
	if fl.Type != TypeGroup {
		if len(fl.Fields) > 0 {
			c.add(path+".fields", "field %q: only a group has nested fields", fl.ID)
		}
		return
	}
	if len(fl.Fields) == 0 {
		c.add(path, "group %q has no fields", fl.ID)
	}
	inner := newScope(sc)
	all := map[string]bool{}
	for _, sub := range fl.Fields {
		all[sub.ID] = true
	}
	for i, sub := range fl.Fields {
		c.field(sub, fmt.Sprintf("%s.fields[%d]", path, i), inner, all)
	}
}
