package files

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/logseq"
)

// ---- Logseq import ------------------------------------------------------------
//
// A Logseq page becomes one node whose content is the page's file, verbatim;
// its blocks (the seed's Block) are read from that content whenever they are
// asked for (GET /nodes/{id}/blocks, search hits), so they cannot drift from
// it, and an export writes the same file back: import → export → import
// loses nothing.
//
// Pages are named as Logseq names them (title:: or #+title:, else the file
// name; a journal by its day) and matched as Logseq matches them: case
// ignored, NFC, aliases followed, a link written as a date ("Sep 14th,
// 2020", "2020-09-14") reaching that day's journal. A graph is a namespace:
// a page's id is "<graph>.<slug of its name>", with a short hash of the
// name when two names of the graph share a slug, so ids are the same on
// every run and the same folder can be imported into two graphs.

// Warning is a problem an import got past, at a file and line.
type Warning struct {
	File string `json:"file"`
	Line int    `json:"line"`
	Msg  string `json:"message"`
}

func (w Warning) String() string { return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg) }

// logseqFile is one page file as read.
type logseqFile struct {
	rel, format string
	journal     string // the day (2006-01-02) of a journal
	content     string
	page        logseq.Page
	name        string // the page's name
	key         string
}

// pageEntry is a page of the graph: a file, or a name only linked to.
type pageEntry struct {
	key, name string
	file      *logseqFile
	id        string
	skipped   bool
}

type edgeKey struct{ from, to string }

// logseqImport holds what an import has found so far.
type logseqImport struct {
	graph     string
	files     []*logseqFile
	pages     map[string]*pageEntry
	order     []*pageEntry      // as first seen
	alias     map[string]string // alias key → page key
	blockPage map[string]*logseqFile
	edges     map[edgeKey]*kogral.Edge
	warnings  []Warning
}

func (im *logseqImport) warn(file string, line int, format string, args ...any) {
	im.warnings = append(im.warnings, Warning{File: file, Line: max(line, 1), Msg: fmt.Sprintf(format, args...)})
}

// ImportLogseq reads a Logseq graph folder (pages/ and journals/, markdown
// and org, subfolders included) into nodes of graph: a page is a Note (or
// the type in its type:: property), a journal day a Journal, its content
// the file as it is. Links ([[page]], also in embeds and properties),
// #tags and tags::, references to another page's blocks and namespaces
// (a/b → a) are RelatesTo edges, to a page created empty when the folder
// has none, so no link is lost. What the import cannot take as it is (a
// page over a node's limits, a reference to no block, a file that is not
// a page) is a warning naming its file and line; the rest is imported.
func ImportLogseq(dir, graph string) (kogral.Subgraph, []Warning, error) {
	if graph == "" {
		graph = "default"
	}
	if !kogral.ValidGraph(graph) {
		return kogral.Subgraph{}, nil, invalid("graph %q: want lower-case letters, digits, '.', '_' or '-'", graph)
	}
	im := &logseqImport{graph: graph, pages: map[string]*pageEntry{}, alias: map[string]string{},
		blockPage: map[string]*logseqFile{}, edges: map[edgeKey]*kogral.Edge{}}
	paths, err := im.list(dir)
	if err != nil {
		return kogral.Subgraph{}, nil, err
	}
	if len(paths) == 0 {
		return kogral.Subgraph{}, nil, invalid("%s: no pages/ or journals/ with .md or .org files: not a Logseq graph", dir)
	}
	for _, rel := range paths {
		src, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return kogral.Subgraph{}, nil, fmt.Errorf("logseq import: %w", err)
		}
		im.read(rel, src)
	}
	g := im.finish()
	return g, im.warnings, nil
}

// list is every file under pages/ and journals/, sorted; one that is not a
// page is a warning.
func (im *logseqImport) list(dir string) ([]string, error) {
	var out []string
	for _, sub := range []string{"journals", "pages"} {
		root := filepath.Join(dir, sub)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if path == root && os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && path != root {
				if d.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			rel, _ := filepath.Rel(dir, path)
			rel = filepath.ToSlash(rel)
			switch strings.ToLower(filepath.Ext(rel)) {
			case ".md", ".markdown", ".org":
				out = append(out, rel)
			default:
				im.warn(rel, 1, "not a Logseq page (%s): skipped", filepath.Ext(rel))
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("logseq import: %w", err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// read parses one file, cut to a node's content limit.
func (im *logseqImport) read(rel string, src []byte) {
	f := &logseqFile{rel: rel, format: "markdown"}
	if strings.EqualFold(filepath.Ext(rel), ".org") {
		f.format = "org"
	}
	if !utf8.Valid(src) {
		src = []byte(strings.ToValidUTF8(string(src), "\uFFFD"))
		im.warn(rel, 1, "not valid UTF-8: the invalid bytes are replaced by U+FFFD")
	}
	content := strings.TrimRight(string(src), "\n")
	if len(content) > kogral.MaxContentBytes {
		cut := strings.LastIndexByte(content[:kogral.MaxContentBytes], '\n')
		if cut <= 0 {
			for cut = kogral.MaxContentBytes; !utf8.RuneStart(content[cut]); cut-- {
			}
		}
		im.warn(rel, strings.Count(content[:cut], "\n")+2, "the page is %d bytes, over the 1 MiB a node holds: cut before this line", len(content))
		content = content[:cut]
	}
	f.content = content
	if f.format == "org" {
		f.page = logseq.ParseOrg([]byte(content))
	} else {
		f.page = logseq.ParseMarkdownWith([]byte(content), yamlFrontmatter)
	}
	f.name = fileTitle(rel)
	if strings.HasPrefix(rel, "journals/") {
		base := strings.TrimSuffix(filepath.Base(rel), filepath.Ext(rel))
		if d, err := time.Parse("2006_01_02", strings.ReplaceAll(base, "-", "_")); err == nil {
			f.journal, f.name = d.Format("2006-01-02"), d.Format("2006-01-02")
		} else {
			im.warn(rel, 1, "journal file name %q is not a day (yyyy_MM_dd): imported as a page", base)
		}
	}
	if t := strings.TrimSpace(f.page.Props["title"]); t != "" && f.journal == "" {
		f.name = logseq.PlainValue(t)
	}
	im.files = append(im.files, f)
}

// fileTitle is a page's name from its file name (namespaces are written
// a___b or a%2Fb).
func fileTitle(rel string) string {
	name := strings.TrimSuffix(filepath.Base(rel), filepath.Ext(rel))
	name = strings.ReplaceAll(name, "___", "/")
	if u, err := url.PathUnescape(name); err == nil {
		name = u
	}
	return name
}

var ordinalDay = regexp.MustCompile(`\b(\d{1,2})(?:st|nd|rd|th)\b`)

// journalDay reads a page name written as a date, in Logseq's default
// journal title (Sep 14th, 2020) or the other usual forms.
func journalDay(name string) (string, bool) {
	if len(name) > 40 || !hasYear(name) {
		return "", false
	}
	s := ordinalDay.ReplaceAllString(strings.TrimSpace(name), "$1")
	for _, layout := range []string{"Jan 2, 2006", "January 2, 2006", "2006-01-02", "2006_01_02", "Mon, Jan 2, 2006",
		"Monday, January 2, 2006", "2 Jan 2006", "02-01-2006"} {
		if d, err := time.Parse(layout, s); err == nil {
			return d.Format("2006-01-02"), true
		}
	}
	return "", false
}

// hasYear reports whether s holds four digits in a row, as every date
// layout journalDay reads does: a name without them (most page names) is
// not parsed eight times in vain.
func hasYear(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			if run++; run == 4 {
				return true
			}
		} else {
			run = 0
		}
	}
	return false
}

// pageKey is a page's identity as Logseq matches names: the day of a date,
// else the name in lower case, NFC.
func pageKey(name string) string {
	if d, ok := journalDay(name); ok {
		return d
	}
	return strings.ToLower(norm.NFC.String(strings.TrimSpace(name)))
}

// entry is the page with key, made (as only linked to) when new.
func (im *logseqImport) entry(key, name string) *pageEntry {
	if e, ok := im.pages[key]; ok {
		return e
	}
	e := &pageEntry{key: key, name: strings.TrimSpace(name)}
	im.pages[key] = e
	im.order = append(im.order, e)
	return e
}

// resolve is the key of the page a link names ("" for an empty name),
// following aliases.
func (im *logseqImport) resolve(name string) string {
	name = strings.TrimSpace(name)
	if name == "" {
		return ""
	}
	k := pageKey(name)
	if a, ok := im.alias[k]; ok {
		return a
	}
	im.entry(k, name)
	return k
}

func (im *logseqImport) link(from, to string, namespace bool) {
	if to == "" || to == from {
		return
	}
	k := edgeKey{from, to}
	e := im.edges[k]
	if e == nil {
		e = &kogral.Edge{Relation: "RelatesTo"}
		im.edges[k] = e
	}
	if e.Weight < maxEdgeWeight { // a weight counts the logseq.References, up to what an edge holds
		e.Weight++
	}
	if namespace {
		e.Metadata = map[string]any{"namespace": true}
	}
}

const maxEdgeWeight = 1000

// shortHash tells apart names that share a slug.
func shortHash(s string, n int) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:n]
}

// invalid is a bad-input error (a 400 where it reaches the API).
func invalid(format string, args ...any) error {
	return &kogral.InputError{Msg: fmt.Sprintf(format, args...)}
}
