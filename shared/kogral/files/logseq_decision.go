package files

import (
	"encoding/json"
	"strings"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/logseq"
)

// decisionMeta reads a decision page's properties as an export writes them
// back into its metadata: alternatives:: (a JSON list) as the list, and
// related_decisions:: and supersedes:: (page links) as the ids those pages
// have in this import; a link to no page of it is kept when it is a node id
// (a decision outside the folder), else a warning. An alternatives:: that
// is not such a list is a warning too: the ADR's text keeps them.
func (im *logseqImport) decisionMeta(f *logseqFile, meta map[string]any) {
	if v, ok := f.page.Props["alternatives"]; ok {
		var list any
		_, err := kogral.AsAlternatives(json.RawMessage(v))
		if err == nil {
			err = json.Unmarshal([]byte(v), &list)
		}
		if err != nil {
			im.warn(f.rel, f.page.PropLine["alternatives"], "alternatives:: is not a list of {title, pros, cons, why_not_chosen} (%v): kept in the page's text only", err)
			delete(meta, "alternatives")
		} else {
			meta["alternatives"] = list
		}
	}
	if v, ok := f.page.Props["related_decisions"]; ok {
		var ids []any
		for _, name := range logseq.ListValues(v) {
			if id, ok := im.pageID(f, "related_decisions", name); ok {
				ids = append(ids, id)
			}
		}
		meta["related_decisions"] = ids
	}
	if v, ok := f.page.Props["supersedes"]; ok {
		delete(meta, "supersedes")
		if id, ok := im.pageID(f, "supersedes", logseq.PlainValue(v)); ok {
			meta["supersedes"] = id
		}
	}
}

// pageID is the id of the page a decision's property names (name may be a
// node id outside the import). A name that is a node id of a scope
// ("demo.b.use-nats", as an export names a decision of another graph) is
// that id unless a page of the folder has that name: a page only linked to
// by that name (the decision's text links [[demo.b.use-nats]]) is not it.
func (im *logseqImport) pageID(f *logseqFile, prop, name string) (string, bool) {
	k := pageKey(name)
	if a, ok := im.alias[k]; ok {
		k = a
	}
	scoped := kogral.ValidID(name) && strings.Contains(name, ".")
	if e := im.pages[k]; e != nil && e.id != "" && (e.file != nil || !scoped) {
		return e.id, true
	}
	if kogral.ValidID(name) {
		return name, true
	}
	im.warn(f.rel, f.page.PropLine[prop], "%s:: %q names no page of the graph and is no node id: left out", prop, name)
	return "", false
}
