package engine

import "strings"

// Paths is a path table, the way OpenBao's backends declare theirs: each
// row a pattern and the handler of each operation on it. The vault's
// engines (KV, transit, PKI) and its sys routes each route through one;
// H is the handler type of the table's user.
type Paths[H any] []Path[H]

// Path is one row of a table. Pattern is segments separated by "/", each a
// literal, "{name}" (one segment, captured) or "{name*}" (one or more
// segments, captured joined by "/"; at most one per pattern, and segments
// may follow it). Ops maps an operation to its handler; the operation
// AnyOp serves every operation, for handlers that check the caller before
// they look at the operation.
type Path[H any] struct {
	Pattern string
	Ops     map[string]H
}

// AnyOp is the operation key of a handler that serves every operation.
const AnyOp = "*"

// Params are the segments a pattern captured, by name.
type Params map[string]string

// Lookup returns the handler of the first row whose pattern matches path
// and which serves op (or AnyOp), with what the pattern captured; ok is
// false when no row does.
func (t Paths[H]) Lookup(path, op string) (h H, params Params, ok bool) {
	for _, row := range t {
		handler, served := row.Ops[op]
		if !served {
			handler, served = row.Ops[AnyOp]
		}
		if !served {
			continue
		}
		if params, ok := match(row.Pattern, path, nil); ok {
			return handler, params, true
		}
	}
	return h, nil, false
}

// match matches path against pattern segment by segment, without
// allocating unless something is captured.
func match(pattern, path string, params Params) (Params, bool) {
	pseg, prest, pmore := strings.Cut(pattern, "/")
	name, glob, isCapture := capture(pseg)
	if glob {
		value := path
		if pmore {
			// The segments after the glob take the end of the path.
			i := len(path)
			for range strings.Count(prest, "/") + 1 {
				if i = strings.LastIndexByte(path[:i], '/'); i < 0 {
					return nil, false
				}
			}
			var ok bool
			if params, ok = match(prest, path[i+1:], params); !ok {
				return nil, false
			}
			value = path[:i]
		}
		return params.with(name, value), true
	}
	seg, rest, more := strings.Cut(path, "/")
	switch {
	case more != pmore:
		return nil, false
	case isCapture:
		params = params.with(name, seg)
	case seg != pseg:
		return nil, false
	}
	if !more {
		return params, true
	}
	return match(prest, rest, params)
}

// capture reads a pattern segment "{name}" or "{name*}".
func capture(seg string) (name string, glob, ok bool) {
	if len(seg) < 2 || seg[0] != '{' || seg[len(seg)-1] != '}' {
		return "", false, false
	}
	name, glob = strings.CutSuffix(seg[1:len(seg)-1], "*")
	return name, glob, true
}

func (p Params) with(name, value string) Params {
	if p == nil {
		p = Params{}
	}
	p[name] = value
	return p
}
