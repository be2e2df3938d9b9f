package logseq

import (
	"strings"
)

// ParseOrg reads a Logseq org page: #+key: value page properties (and
// a :PROPERTIES: drawer before the first headline), "*"-headlines as blocks
// nested by their stars, :PROPERTIES: drawers as block properties (:id: is
// the block's uuid), headline :tags:, #+BEGIN_SRC/EXAMPLE blocks and
// ~code~ or =verbatim= spans as code. Text before the first headline is a
// block of its own.
func ParseOrg(src []byte) Page {
	p := Page{Props: map[string]string{}, PropLine: map[string]int{}}
	lines := splitLines(src)
	var o outline
	var cur *draft
	block, drawer := "", false
	for i, line := range lines {
		t := strings.TrimSpace(line)
		lower := strings.ToLower(t)
		switch {
		case block != "":
			cur.add(line, true)
			if strings.HasPrefix(lower, "#+end_"+block) {
				block = ""
			}
			continue
		case drawer:
			if lower == ":end:" {
				drawer = false
			} else if m := drawerKey.FindStringSubmatch(line); m != nil {
				if cur == nil {
					p.setProp(m[1], m[2], i+1)
				} else if _, dup := cur.props[strings.ToLower(m[1])]; !dup {
					cur.props[strings.ToLower(m[1])] = strings.TrimSpace(m[2])
				}
			}
			continue
		case lower == ":properties:":
			drawer = true
			continue
		}
		if m := headline.FindStringSubmatch(line); m != nil {
			cur = newDraft(len(m[1]), 0, i+1)
			text := m[2]
			if tm := orgTags.FindStringSubmatch(text); tm != nil {
				for _, tag := range strings.Split(tm[1], ":") {
					if tag != "" {
						cur.orgTags = append(cur.orgTags, tag)
					}
				}
				text = strings.TrimSpace(text[:len(text)-len(tm[0])])
			}
			o.open(cur)
			cur.add(text, false)
			continue
		}
		if m := orgProp.FindStringSubmatch(line); m != nil && cur == nil {
			p.setProp(m[1], m[2], i+1)
			continue
		}
		if cur == nil {
			if t == "" {
				continue
			}
			cur = newDraft(1, 0, i+1) // text before the first headline
			o.open(cur)
		}
		cur.add(line, false)
		if strings.HasPrefix(lower, "#+begin_src") || strings.HasPrefix(lower, "#+begin_example") {
			cur.code[len(cur.code)-1] = true
			block = strings.Fields(lower[len("#+begin_"):])[0]
		}
	}
	p.Blocks = finishOutline(&p, o.top, orgLinkable)
	return p
}

// orgLinkable is a block's text without its code blocks and code spans.
func orgLinkable(d *draft) string {
	var b strings.Builder
	for i, l := range d.lines {
		if !d.code[i] {
			b.WriteString(orgCode.ReplaceAllString(l, "$1"))
			b.WriteByte('\n')
		}
	}
	return b.String()
}
