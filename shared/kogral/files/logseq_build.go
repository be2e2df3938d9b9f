package files

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/logseq"
)

// finish names every page, follows every link and builds the subgraph,
// nodes sorted by id and edges by source and target.
func (im *logseqImport) finish() kogral.Subgraph {
	for _, f := range im.files {
		im.claim(f)
	}
	for _, f := range im.files {
		im.aliases(f)
	}
	for _, f := range im.files {
		im.links(f)
	}
	for i := 0; i < len(im.order); i++ { // grows as parents are found
		e := im.order[i]
		if e.file != nil && e.file.journal != "" {
			continue
		}
		if cut := strings.LastIndex(e.name, "/"); cut > 0 && cut < len(e.name)-1 {
			im.link(e.key, im.resolve(e.name[:cut]), true)
		}
	}
	im.assignIDs()
	var g kogral.Subgraph
	for _, e := range im.order {
		if n, ok := im.node(e); ok {
			g.Nodes = append(g.Nodes, n)
		} else {
			e.skipped = true
		}
	}
	for k, e := range im.edges {
		from, to := im.pages[k.from], im.pages[k.to]
		if from.skipped || to.skipped {
			continue
		}
		e.Source, e.Target = from.id, to.id
		g.Edges = append(g.Edges, *e)
	}
	sort.Slice(g.Nodes, func(i, j int) bool { return g.Nodes[i].ID < g.Nodes[j].ID })
	sort.Slice(g.Edges, func(i, j int) bool {
		a, b := g.Edges[i], g.Edges[j]
		return a.Source < b.Source || a.Source == b.Source && a.Target < b.Target
	})
	return g
}

// claim makes a file's page. Two files of one name (Logseq ignores case)
// are both kept, the second under an id of its own.
func (im *logseqImport) claim(f *logseqFile) {
	f.key = pageKey(f.name)
	if f.journal != "" {
		f.key = f.journal
	}
	if e, ok := im.pages[f.key]; ok && e.file != nil {
		im.warn(f.rel, 1, "same page as %s (Logseq reads page names without case): imported as a node of its own; links reach %s",
			e.file.rel, e.file.rel)
		f.key += "\x00" + f.rel
	}
	e := im.entry(f.key, f.name)
	e.name, e.file = f.name, f
	logseq.Walk(f.page.Blocks, func(b logseq.Block) {
		uuid := strings.ToLower(b.Properties["id"])
		if uuid == "" {
			return
		}
		if other, dup := im.blockPage[uuid]; dup && other != f {
			im.warn(f.rel, b.Line, "block id %s is also a block of %s: references reach that one", uuid, other.rel)
			return
		}
		im.blockPage[uuid] = f
	})
}

// aliases records a page's alias:: names, so that links to them reach it.
func (im *logseqImport) aliases(f *logseqFile) {
	line := f.page.PropLine["alias"]
	for _, a := range logseq.ListValues(f.page.Props["alias"]) {
		k := pageKey(a)
		switch owner, taken := im.alias[k]; {
		case k == f.key:
		case im.pages[k] != nil && im.pages[k].file != nil:
			im.warn(f.rel, line, "alias %q is the name of the page %s: not an alias", a, im.pages[k].file.rel)
		case taken:
			im.warn(f.rel, line, "alias %q is already an alias of %q", a, im.pages[owner].name)
		default:
			im.alias[k] = f.key
		}
	}
}

// links adds a page's edges: its properties' links and tags, its blocks'
// links, tags and references to other pages' blocks.
func (im *logseqImport) links(f *logseqFile) {
	keys := make([]string, 0, len(f.page.Props))
	for k := range f.page.Props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, line := f.page.Props[k], f.page.PropLine[k]
		switch k {
		case "alias", "title", "id", "kogral-title", "alternatives": // names, not links; alternatives:: is JSON
		case "tags":
			for _, t := range logseq.ListValues(v) {
				im.link(f.key, im.resolve(t), false)
			}
		default:
			im.refs(f, logseq.References(v), line)
			for _, t := range logseq.Tags(v) {
				im.link(f.key, im.resolve(t), false)
			}
		}
	}
	logseq.Walk(f.page.Blocks, func(b logseq.Block) {
		im.refs(f, b.References, b.Line)
		for _, t := range b.Tags {
			im.link(f.key, im.resolve(t), false)
		}
	})
}

// refs links a page to the pages and blocks refs name; a reference to a
// block no page has is a warning.
func (im *logseqImport) refs(f *logseqFile, refs []string, line int) {
	for _, ref := range refs {
		uuid, isBlock := strings.CutPrefix(ref, "((")
		if !isBlock {
			im.link(f.key, im.resolve(ref), false)
			continue
		}
		uuid = strings.TrimSuffix(uuid, "))")
		if page, ok := im.blockPage[uuid]; ok {
			im.link(f.key, page.key, false)
		} else {
			im.warn(f.rel, line, "block reference ((%s)) matches no block of the graph: kept as text, not linked", uuid)
		}
	}
}

// assignIDs gives each page "<graph>.<slug>": the first of the names that
// share a slug (in byte order) has it bare, the others with a short hash of
// their name, so each id depends only on the names, not on file order.
func (im *logseqImport) assignIDs() {
	room := 128 - 1 - utf8.RuneCountInString(im.graph) - 11
	bySlug := map[string][]string{}
	for key := range im.pages {
		name, _, _ := strings.Cut(key, "\x00")
		s := kogral.SlugN(name, room)
		if s == "" {
			s = "page"
		}
		bySlug[s] = append(bySlug[s], key)
	}
	slugs := make([]string, 0, len(bySlug))
	for s := range bySlug {
		slugs = append(slugs, s)
	}
	sort.Strings(slugs)
	used := map[string]bool{}
	for _, s := range slugs {
		used[s] = true
	}
	for _, s := range slugs {
		keys := bySlug[s]
		sort.Strings(keys)
		for i, k := range keys {
			id := s
			for n := 6; i > 0; n += 2 {
				if id = s + "-" + shortHash(k, n); !used[id] {
					used[id] = true
					break
				}
			}
			im.pages[k].id = im.graph + "." + id
		}
	}
}

// cutTitle cuts a title to a node's limit, at a character boundary.
func cutTitle(t string) string {
	if len(t) <= kogral.MaxTitleBytes {
		return t
	}
	n := kogral.MaxTitleBytes
	for !utf8.RuneStart(t[n]) {
		n--
	}
	return strings.TrimSpace(t[:n])
}
