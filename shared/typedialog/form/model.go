// Package form is TypeDialog's form engine: the TOML form language, the
// conditions that show and hide fields, the one answers validator every
// back-end uses, and the outputs (json, yaml, toml, nickel, templates).
package form

// Field types of the form language.
const (
	TypeText        = "text"
	TypePassword    = "password"
	TypeNumber      = "number"
	TypeConfirm     = "confirm"
	TypeSelect      = "select"
	TypeMultiSelect = "multi-select"
	TypeDate        = "date"
	TypeGroup       = "group"
)

// Output formats.
const (
	FormatJSON   = "json"
	FormatYAML   = "yaml"
	FormatTOML   = "toml"
	FormatNickel = "nickel"
)

// Form is one parsed definition.
type Form struct {
	Form     Meta      `toml:"form" json:"form"`
	Sections []Section `toml:"sections" json:"sections"`
	Output   Output    `toml:"output" json:"output"`
}

// Meta is the [form] table.
type Meta struct {
	ID          string `toml:"id" json:"id"`
	Version     string `toml:"version" json:"version"`
	Title       string `toml:"title" json:"title"`
	Description string `toml:"description" json:"description,omitempty"`
	Lang        string `toml:"lang" json:"lang,omitempty"`
}

// Section is one [[sections]] page.
type Section struct {
	ID          string  `toml:"id" json:"id"`
	Title       string  `toml:"title" json:"title"`
	Description string  `toml:"description" json:"description,omitempty"`
	Fields      []Field `toml:"fields" json:"fields"`
}

// Field is one [[sections.fields]] (or a group's nested field).
type Field struct {
	ID          string     `toml:"id" json:"id"`
	Type        string     `toml:"type" json:"type"`
	Label       string     `toml:"label" json:"label"`
	Help        string     `toml:"help" json:"help,omitempty"`
	Required    bool       `toml:"required" json:"required,omitempty"`
	Default     any        `toml:"default" json:"default,omitempty"`
	Placeholder string     `toml:"placeholder" json:"placeholder,omitempty"`
	Validation  Validation `toml:"validation" json:"validation"`
	Options     []Option   `toml:"options" json:"options,omitempty"`
	DisplayMode string     `toml:"display_mode" json:"display_mode,omitempty"`
	Condition   Condition  `toml:"condition" json:"condition,omitzero"`
	Repeatable  bool       `toml:"repeatable" json:"repeatable,omitempty"`
	MinItems    *int       `toml:"min_items" json:"min_items,omitempty"`
	MaxItems    *int       `toml:"max_items" json:"max_items,omitempty"`
	Fields      []Field    `toml:"fields" json:"fields,omitempty"`
}

// Validation holds a field's rules (validation.* keys).
type Validation struct {
	MinLength *int     `toml:"min_length" json:"min_length,omitempty"`
	MaxLength *int     `toml:"max_length" json:"max_length,omitempty"`
	Pattern   string   `toml:"pattern" json:"pattern,omitempty"`
	Min       *float64 `toml:"min" json:"min,omitempty"`
	Max       *float64 `toml:"max" json:"max,omitempty"`
	MinItems  *int     `toml:"min_items" json:"min_items,omitempty"`
	MaxItems  *int     `toml:"max_items" json:"max_items,omitempty"`
}

// Option is one choice of a select or multi-select.
type Option struct {
	Value string `toml:"value" json:"value"`
	Label string `toml:"label" json:"label"`
}

// Condition shows a field only when it holds: {field, equals}, {field,
// not_equals}, {field, in}, or all/any of conditions.
type Condition struct {
	Field     string      `toml:"field" json:"field,omitempty"`
	Equals    any         `toml:"equals" json:"equals,omitempty"`
	NotEquals any         `toml:"not_equals" json:"not_equals,omitempty"`
	In        []any       `toml:"in" json:"in,omitempty"`
	All       []Condition `toml:"all" json:"all,omitempty"`
	Any       []Condition `toml:"any" json:"any,omitempty"`
}

// IsZero reports an absent condition (the field is always shown).
func (c Condition) IsZero() bool {
	return c.Field == "" && c.Equals == nil && c.NotEquals == nil && c.In == nil && len(c.All) == 0 && len(c.Any) == 0
}

// Output is the [output] table.
type Output struct {
	Format     string `toml:"format" json:"format"`
	Template   string `toml:"template" json:"template,omitempty"`
	Validation string `toml:"validation" json:"validation,omitempty"`
}

// Fields returns every top-level field of the form in order, across sections.
func (f *Form) Fields() []Field {
	n := 0
	for _, s := range f.Sections {
		n += len(s.Fields)
	}
	out := make([]Field, 0, n)
	for _, s := range f.Sections {
		out = append(out, s.Fields...)
	}
	return out
}

// Lookup finds a top-level field by id.
func (f *Form) Lookup(id string) (Field, bool) {
	for si := range f.Sections {
		for fi := range f.Sections[si].Fields {
			if fl := &f.Sections[si].Fields[fi]; fl.ID == id {
				return *fl, true
			}
		}
	}
	return Field{}, false
}

// ItemBounds returns a group's or multi-select's item count bounds, from the
// field's own min_items/max_items or its validation table.
func (fl Field) ItemBounds() (minItems, maxItems *int) {
	minItems, maxItems = fl.MinItems, fl.MaxItems
	if minItems == nil {
		minItems = fl.Validation.MinItems
	}
	if maxItems == nil {
		maxItems = fl.Validation.MaxItems
	}
	return minItems, maxItems
}
