package files

import (
	"sort"
	"strings"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/logseq"
)

// node is a page as a node: a file's page with its properties as metadata
// (links written as plain names), or an empty placeholder for a page only
// linked to. A page that fails a node's checks even so is a warning and is
// left out (false).
func (im *logseqImport) node(e *pageEntry) (kogral.Node, bool) {
	f := e.file
	if f == nil {
		meta := map[string]any{"source": "logseq", "placeholder": true}
		if cut := strings.LastIndex(e.name, "/"); cut > 0 {
			meta["namespace"] = e.name[:cut]
		}
		return kogral.Node{ID: e.id, NodeType: "Note", Title: cutTitle(e.name), Content: "", GraphID: im.graph, Metadata: meta, Tags: []string{}}, true
	}
	in := kogral.NodeInput{ID: e.id, NodeType: "Note", Title: e.name, Content: f.content, GraphID: im.graph,
		Metadata: map[string]any{"source": "logseq", "file": f.rel}}
	if t := strings.TrimSpace(f.page.Props["kogral-title"]); t != "" { // an export's page renamed "Title (id)"
		in.Title = t
	}
	if len(in.Title) > kogral.MaxTitleBytes {
		in.Title = cutTitle(in.Title)
		im.warn(f.rel, f.page.PropLine["title"], "the title is %d bytes, over %d: cut (links still reach the page by its whole name)", len(e.name), kogral.MaxTitleBytes)
	}
	if f.format == "org" {
		in.Metadata["format"] = "org"
	}
	if f.journal != "" {
		in.NodeType = "Journal"
		in.Metadata["journal_day"] = f.journal
	} else if cut := strings.LastIndex(e.name, "/"); cut > 0 {
		in.Metadata["namespace"] = e.name[:cut]
	}
	if t := f.page.Props["type"]; t != "" {
		if nt, err := kogral.NodeType(logseq.PlainValue(t)); err == nil {
			in.NodeType = nt
		} else {
			im.warn(f.rel, f.page.PropLine["type"], "type:: %s is not a node type: imported as %s", t, in.NodeType)
		}
	}
	for k, v := range f.page.Props {
		if k != "tags" && k != "type" && k != "title" && k != "alias" && k != "kogral-title" {
			in.Metadata[k] = logseq.PlainValue(v)
		}
	}
	if in.NodeType == "Decision" {
		im.decisionMeta(f, in.Metadata)
	}
	var aliases []any
	for a, owner := range im.alias {
		if owner == e.key {
			aliases = append(aliases, a)
		}
	}
	if len(aliases) > 0 {
		sort.Slice(aliases, func(i, j int) bool { return aliases[i].(string) < aliases[j].(string) })
		in.Metadata["aliases"] = aliases
	}
	in.Tags = im.pageTags(f)
	var tasks []any
	logseq.Walk(f.page.Blocks, func(b logseq.Block) {
		if b.TaskStatus != "" {
			tasks = append(tasks, b.TaskStatus)
		}
	})
	if len(tasks) > 0 {
		in.Metadata["tasks"] = tasks
	}
	if err := in.Check(); err != nil {
		im.warn(f.rel, 1, "skipped: %v", err)
		return kogral.Node{}, false
	}
	return kogral.Node{ID: in.ID, NodeType: in.NodeType, Title: in.Title, Content: in.Content, Metadata: in.Metadata, Tags: in.Tags, GraphID: in.GraphID}, true
}

// pageTags are a page's tags (tags:: and its blocks' #tags) in lower case,
// as many as a node holds; a tag too long, or past the limit, is a warning
// (its page is still linked).
func (im *logseqImport) pageTags(f *logseqFile) []string {
	type tagAt struct {
		tag  string
		line int
	}
	var all []tagAt
	for _, t := range logseq.ListValues(f.page.Props["tags"]) {
		all = append(all, tagAt{strings.ToLower(t), f.page.PropLine["tags"]})
	}
	logseq.Walk(f.page.Blocks, func(b logseq.Block) {
		for _, t := range b.Tags {
			all = append(all, tagAt{t, b.Line})
		}
	})
	seen := map[string]bool{}
	out := []string{}
	for _, t := range all {
		switch {
		case seen[t.tag]:
		case len(t.tag) > kogral.MaxTagBytes:
			im.warn(f.rel, t.line, "tag %q is %d bytes, over %d: not kept as a tag (the page is still linked)", t.tag, len(t.tag), kogral.MaxTagBytes)
		case len(out) == kogral.MaxTags:
			im.warn(f.rel, t.line, "tag %q is past the %d tags a node holds: not kept as a tag (the page is still linked)", t.tag, kogral.MaxTags)
		default:
			out = append(out, t.tag)
		}
		seen[t.tag] = true
	}
	return out
}
