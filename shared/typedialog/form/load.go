package form

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
)

// MaxDefinitionBytes bounds a form definition.
const MaxDefinitionBytes = 1 << 20

// Problem is one definition error at its place in the file.
type Problem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Column, p.Message)
}

// DefinitionError lists every problem of a definition, in file order.
type DefinitionError struct{ Problems []Problem }

func (e *DefinitionError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return "form definition: " + strings.Join(lines, "; ")
}

// LoadFile reads and parses a definition from disk.
func LoadFile(path string) (*Form, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read form: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes a TOML definition and checks it. Every problem found is
// returned at once in a *DefinitionError, each with file:line:column.
func Parse(file string, data []byte) (*Form, error) {
	if len(data) > MaxDefinitionBytes {
		return nil, &DefinitionError{Problems: []Problem{{File: file, Line: 1, Column: 1,
			Message: fmt.Sprintf("definition is %d bytes, over the %d-byte limit", len(data), MaxDefinitionBytes)}}}
	}
	var f Form
	dec := toml.NewDecoder(bytes.NewReader(data)).DisallowUnknownFields()
	err := dec.Decode(&f)
	var problems []Problem
	var strict *toml.StrictMissingError
	var decErr *toml.DecodeError
	switch {
	case err == nil:
	case errors.As(err, &strict):
		for _, e := range strict.Errors {
			line, col := e.Position()
			problems = append(problems, Problem{File: file, Line: line, Column: col,
				Message: fmt.Sprintf("unknown key %q", strings.Join(e.Key(), "."))})
		}
	case errors.As(err, &decErr):
		line, col := decErr.Position()
		return nil, &DefinitionError{Problems: []Problem{{File: file, Line: line, Column: col, Message: decErr.Error()}}}
	default:
		return nil, &DefinitionError{Problems: []Problem{{File: file, Line: 1, Column: 1, Message: err.Error()}}}
	}
	c := checker{file: file, pos: indexPositions(data)}
	c.check(&f)
	problems = append(problems, c.problems...)
	if len(problems) > 0 {
		sort.SliceStable(problems, func(i, j int) bool {
			if problems[i].Line != problems[j].Line {
				return problems[i].Line < problems[j].Line
			}
			return problems[i].Column < problems[j].Column
		})
		return nil, &DefinitionError{Problems: problems}
	}
	return &f, nil
}
