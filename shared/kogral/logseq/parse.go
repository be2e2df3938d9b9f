// Package logseq reads Logseq pages (markdown and org) into their page
// properties and their outline of blocks. It depends on nothing else of
// Kogral, so the store (a node's blocks) and the importer share it.
package logseq

import (
	"fmt"
	"regexp"
	"strings"
)

// ---- reading a Logseq page ---------------------------------------------------
//
// Logseq's outline is read line by line, as Logseq itself reads it, not as
// CommonMark: a block starts at a bullet ("- ", also "* " and "+ ") and
// holds the lines indented under it; a heading or a paragraph outside any
// bullet is a block too (CommonMark would read a list indented under
// "## Heading" as a code block). Page properties are the key:: value lines
// before the first block (or YAML frontmatter, or a first block of
// properties only). Org pages (.org) have #+key: value page properties,
// "*"-headlines as blocks and :PROPERTIES: drawers. In both, text in code
// spans and code blocks is kept as content and is never a link, a tag or a
// property.

var (
	wikiLink  = regexp.MustCompile(`\[\[([^\[\]]+)\]\]`)
	orgLink   = regexp.MustCompile(`\[\[([^\[\]]+)\]\[[^\[\]]*\]\]`)
	blockRef  = regexp.MustCompile(`\(\(([0-9a-fA-F-]{8,64})\)\)`)
	hashTag   = regexp.MustCompile(`(?:^|[\s,(])#(?:\[\[([^\[\]]+)\]\]|([^\s#+,.;:!?"'()\[\]{}<>][^\s#,.;:!?"'()\[\]{}<>]*))`)
	property  = regexp.MustCompile(`^\s*([\p{L}\p{N}][\p{L}\p{N}_/-]*)::(?:\s+(.*)|\s*)$`)
	orgProp   = regexp.MustCompile(`^\s*#\+([A-Za-z][\w-]*):\s*(.*)$`)
	drawerKey = regexp.MustCompile(`^\s*:([\w-]+):\s*(.*)$`)
	headline  = regexp.MustCompile(`^(\*+)\s+(.*)$`)
	orgTags   = regexp.MustCompile(`\s+:([\p{L}\p{N}_@#%:]+):\s*$`)
	orgCode   = regexp.MustCompile(`(^|[\s(])(~[^~\n]+~|=[^=\n]+=)`)
	mdHeading = regexp.MustCompile(`^#{1,6}(\s|$)`)
	taskState = regexp.MustCompile(`^(TODO|DOING|DONE|LATER|NOW|WAITING|WAIT|CANCELLED|CANCELED|IN-PROGRESS)(?:\s|$)`)
)

// TaskStates are Logseq's task markers (the seed's TaskStatus). CANCELED,
// WAIT and IN-PROGRESS, which Logseq also reads, are kept as CANCELLED,
// WAITING and DOING.
var TaskStates = []string{"TODO", "DOING", "DONE", "LATER", "NOW", "WAITING", "CANCELLED"}

var taskAliases = map[string]string{"CANCELED": "CANCELLED", "WAIT": "WAITING", "IN-PROGRESS": "DOING"}

// Block is a Logseq outline block (the seed's Block). ID is its `id::`
// property when it has one (the uuid other blocks reference it by), else
// its position in the page ("2.1": the first child of the second block).
// References are the pages it links ([[page]], also inside {{embed}} and in
// its properties) and the blocks it references, written ((uuid)). Line is
// where it starts in the page's file.
type Block struct {
	ID         string            `json:"id"`
	Content    string            `json:"content"`
	Children   []Block           `json:"children"`
	Properties map[string]string `json:"properties"`
	TaskStatus string            `json:"task_status,omitempty"`
	Tags       []string          `json:"tags"`
	References []string          `json:"references"`
	Line       int               `json:"line"`
}

// Page is one page as read: its page properties (values as written,
// keys in lower case, with the line each is on) and its outline.
type Page struct {
	Props    map[string]string
	PropLine map[string]int
	Blocks   []Block
	// frontKeys: its YAML frontmatter has keys, read into Props or not.
	frontKeys bool
}

func (p *Page) setProp(key, value string, line int) {
	key = strings.ToLower(key)
	if _, dup := p.Props[key]; !dup {
		p.Props[key], p.PropLine[key] = strings.TrimSpace(value), line
	}
}

// ParsePage reads a Logseq markdown page: its page properties (key:: value
// lines; a YAML frontmatter's only through ParseMarkdownWith) and its
// outline of blocks.
func ParsePage(src []byte) (map[string]string, []Block) {
	p := ParseMarkdown(src)
	return p.Props, p.Blocks
}

// ParseOrgPage reads a Logseq org page the same way.
func ParseOrgPage(src []byte) (map[string]string, []Block) {
	p := ParseOrg(src)
	return p.Props, p.Blocks
}

func splitLines(src []byte) []string {
	lines := strings.Split(string(src), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// frontmatterProps reads a leading YAML block (--- … ---) into page
// properties through read and returns the index of the line after it (0
// when none).
func frontmatterProps(lines []string, p *Page, read Frontmatter) int {
	if len(lines) == 0 || strings.TrimSpace(lines[0]) != "---" {
		return 0
	}
	for end := 1; end < len(lines); end++ {
		if t := strings.TrimSpace(lines[end]); t != "---" && t != "..." {
			continue
		}
		props, keyed, ok := read(lines[1:end])
		if !ok {
			return 0 // not YAML: Logseq reads it as text, so do we
		}
		p.frontKeys = keyed
		for k, v := range props {
			p.setProp(k, v, 1+lineOfKey(lines[1:end], k))
		}
		return end + 1
	}
	return 0
}

func lineOfKey(lines []string, key string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, key+":") {
			return i + 1
		}
	}
	return 0
}

// draft is a block being read.
type draft struct {
	indent   int // the bullet's column (a headline's level in org)
	body     int // the column its continuation lines start at
	line     int
	lines    []string
	code     []bool // per line: inside a code block
	props    map[string]string
	children []*draft
	orgTags  []string
}

func newDraft(indent, body, line int) *draft {
	return &draft{indent: indent, body: body, line: line, props: map[string]string{}}
}

func (d *draft) add(text string, code bool) {
	d.lines, d.code = append(d.lines, text), append(d.code, code)
}

// outline is the tree of drafts being read: the open blocks, outermost first.
type outline struct {
	top   []*draft
	stack []*draft
}

// open starts a block at indent, closing those at or right of it.
func (o *outline) open(d *draft) {
	for len(o.stack) > 0 && o.stack[len(o.stack)-1].indent >= d.indent {
		o.stack = o.stack[:len(o.stack)-1]
	}
	if len(o.stack) == 0 {
		o.top = append(o.top, d)
	} else {
		parent := o.stack[len(o.stack)-1]
		parent.children = append(parent.children, d)
	}
	o.stack = append(o.stack, d)
}

func (o *outline) current() *draft {
	if len(o.stack) == 0 {
		return nil
	}
	return o.stack[len(o.stack)-1]
}

// owner is the deepest open block a line at column width continues.
func (o *outline) owner(width int) *draft {
	for i := len(o.stack) - 1; i >= 0; i-- {
		if o.stack[i].indent < width {
			return o.stack[i]
		}
	}
	return nil
}

// indentOf measures leading blanks (a tab is four columns) and returns the rest.
func indentOf(line string) (int, string) {
	w := 0
	for i, c := range line {
		switch c {
		case ' ':
			w++
		case '\t':
			w += 4 - w%4
		default:
			return w, line[i:]
		}
	}
	return w, ""
}

// dropColumns removes up to cols columns of leading blanks.
func dropColumns(line string, cols int) string {
	w := 0
	for i, c := range line {
		if w >= cols || (c != ' ' && c != '\t') {
			return line[i:]
		}
		if c == '\t' {
			w += 4 - w%4
		} else {
			w++
		}
	}
	return ""
}

// bulletOf reports a Logseq bullet and the text after it.
func bulletOf(rest string) (bool, string) {
	if rest == "-" || rest == "*" || rest == "+" {
		return true, ""
	}
	if len(rest) >= 2 && strings.ContainsRune("-*+", rune(rest[0])) && (rest[1] == ' ' || rest[1] == '\t') {
		return true, strings.TrimLeft(rest[2:], " \t")
	}
	return false, ""
}

// fenceOf is the marker a line opens a code fence with ("" when none).
func fenceOf(text string) string {
	t := strings.TrimLeft(text, " \t")
	for _, c := range []string{"`", "~"} {
		n := len(t) - len(strings.TrimLeft(t, c))
		if n >= 3 && !strings.Contains(t[n:], t[:n]) { // not ```inline```
			return t[:n]
		}
	}
	return ""
}

func closesFence(text, fence string) bool {
	t := strings.TrimSpace(text)
	return strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == ""
}

// ParseMarkdown reads a markdown page line by line, a YAML frontmatter
// skimmed (SkimFrontmatter: where the outline starts, no properties).
func ParseMarkdown(src []byte) Page {
	return ParseMarkdownWith(src, SkimFrontmatter)
}

// ParseMarkdownWith reads a markdown page line by line, a YAML frontmatter
// through read.
func ParseMarkdownWith(src []byte, read Frontmatter) Page {
	p := Page{Props: map[string]string{}, PropLine: map[string]int{}}
	lines := splitLines(src)
	i := frontmatterProps(lines, &p, read)
	for ; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		m := property.FindStringSubmatch(lines[i])
		if m == nil || strings.HasPrefix(lines[i], " ") || strings.HasPrefix(lines[i], "\t") {
			break
		}
		p.setProp(m[1], m[2], i+1)
	}
	var o outline
	fence, blank := "", false
	var inFence *draft
	for ; i < len(lines); i++ {
		line := lines[i]
		if inFence != nil {
			inFence.add(dropColumns(line, inFence.body), true)
			if closesFence(dropColumns(line, inFence.body), fence) {
				inFence = nil
			}
			continue
		}
		width, rest := indentOf(line)
		if rest == "" {
			if d := o.current(); d != nil {
				d.add("", false)
			}
			blank = true
			continue
		}
		var d *draft
		text := ""
		if ok, after := bulletOf(rest); ok {
			d, text = newDraft(width, width+2, i+1), after
			o.open(d)
		} else if width == 0 && mdHeading.MatchString(rest) {
			d, text = newDraft(0, 0, i+1), rest
			o.open(d)
		} else if d = o.owner(width); d != nil || (width == 0 && !blank && o.current() != nil) {
			if d == nil {
				d = o.current() // a lazy continuation line
			}
			text = dropColumns(line, d.body)
		} else {
			// A heading or paragraph outside any bullet starts a block.
			d, text = newDraft(width, width, i+1), rest
			o.open(d)
		}
		blank = false
		if m := property.FindStringSubmatch(text); m != nil {
			if _, dup := d.props[strings.ToLower(m[1])]; !dup {
				d.props[strings.ToLower(m[1])] = strings.TrimSpace(m[2])
			}
			continue
		}
		d.add(text, false)
		if f := fenceOf(text); f != "" {
			d.code[len(d.code)-1] = true
			fence, inFence = f, d
		}
	}
	p.Blocks = finishOutline(&p, o.top, markdownLinkable)
	return p
}

// finishOutline turns drafts into blocks numbered by position. A first
// block of properties only holds the page's properties (Logseq writes them
// so) when the page has none before it.
func finishOutline(p *Page, top []*draft, linkable func(*draft) string) []Block {
	if len(top) > 0 && len(p.Props) == 0 && !p.frontKeys && len(top[0].props) > 0 && len(top[0].children) == 0 && strings.TrimSpace(strings.Join(top[0].lines, "")) == "" {
		for k, v := range top[0].props {
			p.setProp(k, v, top[0].line)
		}
		top = top[1:]
	}
	return finishDrafts(top, "", linkable)
}

func finishDrafts(ds []*draft, prefix string, linkable func(*draft) string) []Block {
	out := make([]Block, 0, len(ds))
	for i, d := range ds {
		for len(d.lines) > 0 && strings.TrimSpace(d.lines[len(d.lines)-1]) == "" {
			d.lines, d.code = d.lines[:len(d.lines)-1], d.code[:len(d.code)-1]
		}
		pos := fmt.Sprintf("%s%d", prefix, i+1)
		b := Block{ID: pos, Content: strings.Join(d.lines, "\n"), Properties: d.props, Line: d.line,
			Children: finishDrafts(d.children, pos+".", linkable)}
		if id := strings.ToLower(d.props["id"]); id != "" {
			b.ID = id
		}
		if m := taskState.FindStringSubmatch(b.Content); m != nil {
			b.TaskStatus = m[1]
			if a, ok := taskAliases[m[1]]; ok {
				b.TaskStatus = a
			}
		}
		text := linkable(d)
		var propText strings.Builder
		for k, v := range d.props {
			if k != "id" {
				propText.WriteString(v + "\n")
			}
		}
		b.References = append(References(text), References(propText.String())...)
		b.Tags = append(Tags(text), d.orgTags...)
		b.Tags = append(b.Tags, ListValues(d.props["tags"])...)
		for i, t := range b.Tags {
			b.Tags[i] = strings.ToLower(t)
		}
		out = append(out, b)
	}
	return out
}

// markdownLinkable is a block's text that may hold links: without its code
// blocks and code spans.
func markdownLinkable(d *draft) string {
	var b strings.Builder
	for i, l := range d.lines {
		if !d.code[i] {
			b.WriteString(stripCodeSpans(l))
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// stripCodeSpans blanks `code spans` (any run of backticks closed by a run
// of the same length); an unclosed run is text.
func stripCodeSpans(s string) string {
	if !strings.Contains(s, "`") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if s[i] != '`' {
			b.WriteByte(s[i])
			i++
			continue
		}
		n := i
		for n < len(s) && s[n] == '`' {
			n++
		}
		run := s[i:n]
		end := closingRun(s, n, len(run))
		if end < 0 {
			b.WriteString(run)
			i = n
			continue
		}
		b.WriteString(strings.Repeat(" ", end+len(run)-i))
		i = end + len(run)
	}
	return b.String()
}

// closingRun finds a run of exactly n backticks at or after from.
func closingRun(s string, from, n int) int {
	for i := from; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] == '`' {
			j++
		}
		if j-i == n {
			return i
		}
		i = j
	}
	return -1
}

// References lists the pages ([[name]], [[target][label]] in org) and the
// blocks (((uuid))) s refers to.
func References(s string) []string {
	out := []string{}
	for _, m := range orgLink.FindAllStringSubmatch(s, -1) {
		if t := strings.TrimSpace(m[1]); t != "" && !strings.Contains(t, ":") {
			out = append(out, t)
		} else if id, ok := strings.CutPrefix(t, "id:"); ok {
			out = append(out, "(("+strings.ToLower(id)+"))")
		}
	}
	s = orgLink.ReplaceAllString(s, "")
	for _, m := range wikiLink.FindAllStringSubmatch(s, -1) {
		if t := strings.TrimSpace(m[1]); t != "" {
			out = append(out, t)
		}
	}
	for _, m := range blockRef.FindAllStringSubmatch(s, -1) {
		out = append(out, "(("+strings.ToLower(m[1])+"))")
	}
	return out
}

// Tags lists the #tags and #[[tags]] of s.
func Tags(s string) []string {
	out := []string{}
	if !strings.Contains(s, "#") {
		return out // most blocks: no need to run the pattern
	}
	for _, m := range hashTag.FindAllStringSubmatch(s, -1) {
		t := m[1]
		if t == "" {
			t = m[2]
		}
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// ListValues reads a property of page names (tags::, alias::): comma
// separated, each maybe written [[name]] or #name.
func ListValues(v string) []string {
	var out []string
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		part = strings.TrimPrefix(part, "#")
		part = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(part, "[["), "]]"))
		if part != "" {
			out = append(out, part)
		}
	}
	return out
}

// PlainValue is a property value as text: [[name]] written name.
func PlainValue(v string) string {
	return strings.TrimSpace(wikiLink.ReplaceAllString(v, "$1"))
}

// Walk calls f on each block of an outline, depth first.
func Walk(bs []Block, f func(Block)) {
	for _, b := range bs {
		f(b)
		Walk(b.Children, f)
	}
}

// FindBlock finds a block by id in an outline.
func FindBlock(bs []Block, id string) (Block, bool) {
	for _, b := range bs {
		if b.ID == id {
			return b, true
		}
		if c, ok := FindBlock(b.Children, id); ok {
			return c, true
		}
	}
	return Block{}, false
}
