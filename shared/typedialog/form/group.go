package form

import (
	"fmt"
	"sync"
)

var patternMu sync.Mutex

// groupValue validates a group: one item (an object) or, when repeatable, a
// list of items within min_items/max_items. Nested conditions see the item's
// earlier fields first, then the form's.
func (fl Field) groupValue(path string, v any, env map[string]any) (any, []FieldError) {
	if !fl.Repeatable {
		item, ok := v.(map[string]any)
		if !ok {
			return nil, []FieldError{{path, "type", "must be an object"}}
		}
		out, errs := fl.item(path, item, env)
		return out, errs
	}
	list, ok := v.([]any)
	if !ok {
		if maps, isMaps := v.([]map[string]any); isMaps {
			for _, m := range maps {
				list = append(list, m)
			}
		} else {
			return nil, []FieldError{{path, "type", "must be a list of items"}}
		}
	}
	errs := fl.itemCount(path, len(list))
	out := make([]any, 0, len(list))
	for i, raw := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		item, ok := raw.(map[string]any)
		if !ok {
			errs = append(errs, FieldError{p, "type", "must be an object"})
			continue
		}
		v, e := fl.item(p, item, env)
		errs = append(errs, e...)
		out = append(out, v)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

func (fl Field) item(path string, item map[string]any, env map[string]any) (map[string]any, []FieldError) {
	errs := unknownKeys(fl.Fields, item, path+".")
	out := map[string]any{}
	for _, sub := range fl.Fields {
		if !sub.visible(out, env) {
			continue
		}
		v, e := sub.validate(path+"."+sub.ID, item[sub.ID], out)
		errs = append(errs, e...)
		if v != nil && len(e) == 0 {
			out[sub.ID] = v
		}
	}
	return out, errs
}
