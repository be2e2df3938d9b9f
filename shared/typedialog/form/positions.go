package form

import (
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// positions maps a path in the decoded form ("sections[0].fields[2]",
// "sections[0].fields[2].validation.pattern", "output.format") to where it
// was written in the TOML document.
type positions map[string]Pos

// Pos is a line and column in a definition, both from 1.
type Pos struct{ Line, Column int }

// indexPositions walks the document with go-toml's parser and records the
// position of every table, array-table entry, key and inline array element.
func indexPositions(data []byte) positions {
	idx := positions{}
	counts := map[string]int{}
	var p unstable.Parser
	p.Reset(data)
	prefix := ""
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			prefix = idx.header(&p, e, counts)
		case unstable.KeyValue:
			idx.keyValue(&p, e, prefix)
		}
	}
	return idx
}

func (idx positions) at(p *unstable.Parser, n *unstable.Node) Pos {
	if n == nil || n.Raw.Length == 0 && n.Raw.Offset == 0 {
		return Pos{}
	}
	s := p.Shape(n.Raw)
	return Pos{Line: s.Start.Line, Column: s.Start.Column}
}

// header resolves a [table] or [[array.table]] header to a concrete path,
// using the latest entry of every array table on the way.
func (idx positions) header(p *unstable.Parser, e *unstable.Node, counts map[string]int) string {
	path := ""
	it := e.Key()
	var first *unstable.Node
	for it.Next() {
		if first == nil {
			first = it.Node()
		}
		path = join(path, string(it.Node().Data))
		if it.IsLast() && e.Kind == unstable.ArrayTable {
			n := counts[path]
			counts[path] = n + 1
			path += "[" + strconv.Itoa(n) + "]"
		} else if n, ok := counts[path]; ok {
			path += "[" + strconv.Itoa(n-1) + "]"
		}
	}
	pos := idx.at(p, first)
	if pos.Line > 0 && pos.Column > 1 {
		pos.Column-- // point at the bracket, where the header starts
		if e.Kind == unstable.ArrayTable {
			pos.Column--
		}
	}
	idx[path] = pos
	return path
}

func (idx positions) keyValue(p *unstable.Parser, e *unstable.Node, prefix string) {
	path := prefix
	it := e.Key()
	for it.Next() {
		path = join(path, string(it.Node().Data))
		if _, ok := idx[path]; !ok {
			idx[path] = idx.at(p, it.Node())
		}
	}
	idx.value(p, e.Value(), path)
}

// value records the elements of inline arrays and the keys of inline tables.
func (idx positions) value(p *unstable.Parser, v *unstable.Node, path string) {
	switch v.Kind {
	case unstable.Array:
		i := 0
		for it := v.Children(); it.Next(); i++ {
			el := path + "[" + strconv.Itoa(i) + "]"
			idx[el] = idx.at(p, it.Node())
			if it.Node().Kind == unstable.InlineTable {
				idx[el] = idx.firstKey(p, it.Node(), idx[el])
			}
			idx.value(p, it.Node(), el)
		}
	case unstable.InlineTable:
		for it := v.Children(); it.Next(); {
			idx.keyValue(p, it.Node(), path)
		}
	}
}

func (idx positions) firstKey(p *unstable.Parser, t *unstable.Node, fallback Pos) Pos {
	it := t.Children()
	if !it.Next() {
		return fallback
	}
	k := it.Node().Key()
	if k.Next() {
		if pos := idx.at(p, k.Node()); pos.Line > 0 {
			return pos
		}
	}
	return fallback
}

// of returns the position of path, or of its nearest recorded parent.
func (idx positions) of(path string) Pos {
	for path != "" {
		if pos, ok := idx[path]; ok && pos.Line > 0 {
			return pos
		}
		cut := strings.LastIndexAny(path, ".[")
		if cut < 0 {
			break
		}
		path = path[:cut]
	}
	return Pos{Line: 1, Column: 1}
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}
