package form

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"gopkg.in/yaml.v3"
)

// DecodeAnswers reads an answers document; its format comes from the file
// extension (.json, .yaml/.yml, .toml), json when there is none.
func DecodeAnswers(name string, data []byte) (map[string]any, error) {
	var m map[string]any
	var err error
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		err = yaml.Unmarshal(data, &m)
	case ".toml":
		err = toml.Unmarshal(data, &m)
	default:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		err = dec.Decode(&m)
	}
	if err != nil {
		return nil, fmt.Errorf("answers %s: %w", name, err)
	}
	if m == nil {
		m = map[string]any{}
	}
	return normalizeDoc(m).(map[string]any), nil
}

// normalizeDoc turns yaml's map[string]interface{} trees and toml's typed
// slices into the []any / map[string]any shapes the validator reads.
func normalizeDoc(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeDoc(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalizeDoc(e)
		}
		return x
	case []map[string]any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalizeDoc(e)
		}
		return out
	case int:
		return int64(x)
	}
	return v
}
