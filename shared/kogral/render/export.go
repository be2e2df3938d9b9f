package render

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/stratumiops/stratumiops/shared/kogral"
)

// Export is what an export wrote: its files (relative path → content), how
// many nodes they hold, and the nodes written under another name than
// their own because another node of the export had it first.
type Export struct {
	Files   map[string][]byte
	Nodes   int
	Renamed []Renamed

	graphs map[string]bool // the graphs exported
	taken  map[string]bool // paths and page names written, in lower case
}

// Renamed is a node an export wrote under a name of its own: Path is its
// file, Name (Logseq) its page name; its title is kept in the file.
type Renamed struct {
	ID    string `json:"id"`
	Graph string `json:"graph"`
	Title string `json:"title"`
	Path  string `json:"path"`
	Name  string `json:"name,omitempty"`
}

// newExport starts an export of nodes: with nodes of several graphs, each
// graph's files go under a folder named by the graph.
func newExport(nodes []kogral.Node) Export {
	return Export{Files: map[string][]byte{}, Renamed: []Renamed{}, graphs: graphsOf(nodes), taken: map[string]bool{}}
}

func graphOf(n kogral.Node) string {
	if n.GraphID == "" {
		return "default"
	}
	return n.GraphID
}

func graphsOf(nodes []kogral.Node) map[string]bool {
	gs := map[string]bool{}
	for _, n := range nodes {
		gs[graphOf(n)] = true
	}
	return gs
}

// under is the folder of n's graph in the export: "" when the export holds
// one graph, else "<graph>/".
func (e *Export) under(n kogral.Node) string {
	if len(e.graphs) <= 1 {
		return ""
	}
	return graphOf(n) + "/"
}

// claim takes a key (a path or a page name) unless it is taken; keys are
// compared without case, as Logseq compares page names and as macOS and
// Windows compare file names.
func (e *Export) claim(key string) bool {
	k := strings.ToLower(key)
	if e.taken[k] {
		return false
	}
	e.taken[k] = true
	return true
}

// free reports a key no file or page has yet.
func (e *Export) free(key string) bool { return !e.taken[strings.ToLower(key)] }

// sortedNodes are nodes by graph, then id: which of two nodes keeps a
// shared name does not depend on the order the graph gave them in.
func sortedNodes(nodes []kogral.Node) []kogral.Node {
	out := append([]kogral.Node(nil), nodes...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return graphOf(a) < graphOf(b) || graphOf(a) == graphOf(b) && a.ID < b.ID
	})
	return out
}

// shortHash is 8 hex digits of s's SHA-256.
func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:4])
}

// maxFileBytes bounds a file name an export writes (before ".md"): Linux
// and macOS allow 255 bytes, and a title (300 bytes) or an id (128 runes,
// 384 bytes in CJK) may be longer.
const maxFileBytes = 200

// fileName is name as a file's name: control characters (a NUL no file
// system takes) replaced by '_'; over maxFileBytes, cut on a rune boundary
// and ended by the whole name's short hash, so two names alike up to the
// cut stay two files. The whole name is kept in the file (title::,
// kogral-title::, the header's id).
func fileName(name string) string {
	clean := replaceControl(name, '_')
	if len(clean) <= maxFileBytes {
		return clean
	}
	cut := maxFileBytes - 9
	for cut > 0 && !utf8.RuneStart(clean[cut]) {
		cut--
	}
	return clean[:cut] + "-" + shortHash(name)
}

// replaceControl is s with each control character replaced by by.
func replaceControl(s string, by rune) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return by
		}
		return r
	}, s)
}
