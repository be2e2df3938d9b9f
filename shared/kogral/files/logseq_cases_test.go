package files

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stratumiops/stratumiops/shared/kogral"
	"github.com/stratumiops/stratumiops/shared/kogral/logseq"
)

// edgeCaseGraph copies testdata/logseq (hand-written: every construct) to
// a temporary folder and adds what is too big or too odd to keep in git: a
// page over 1 MiB, one with 70 tags and a 70-byte tag, a 400-byte title,
// and a file whose name differs from another's only in case.
func edgeCaseGraph(t testing.TB) string {
	dir := filepath.Join(t.TempDir(), "graph")
	err := filepath.WalkDir("testdata/logseq", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel("testdata/logseq", path)
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, rel), src)
	})
	if err != nil {
		t.Fatal(err)
	}
	var big strings.Builder
	for i := 0; big.Len() <= kogral.MaxContentBytes+1000; i++ {
		fmt.Fprintf(&big, "- line %d of a very long page that links [[Big Target %d]]\n", i, i%3)
	}
	var tags strings.Builder
	tags.WriteString("- ")
	for i := range 70 {
		fmt.Fprintf(&tags, "#t%02d ", i)
	}
	tags.WriteString("#" + strings.Repeat("x", 70) + "\n")
	for rel, body := range map[string]string{
		"pages/Big.md":       big.String(),
		"pages/Tags.md":      tags.String(),
		"pages/Long.md":      "title:: " + strings.Repeat("Long title ", 40) + "\n\n- a page with a long title\n",
		"pages/foo bar.md":   "- Foo Bar again, in lower case\n",
		"pages/Invalid.md":   "- bytes \xff\xfe that are not UTF-8\n",
		"pages/Empty Ref.md": "- `[[ ]]` then [[ ]] then [[Real]]\n",
	} {
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(rel)), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// Every construct the issue names, checked one by one on what the import
// makes of the hand-written graph, twice with identical results.
func TestLogseqConstructs(t *testing.T) {
	dir := edgeCaseGraph(t)
	g, warnings, err := ImportLogseq(dir, "brain")
	if err != nil {
		t.Fatal(err)
	}
	again, warnings2, _ := ImportLogseq(dir, "brain")
	if a, b := mustJSON(t, g, warnings), mustJSON(t, again, warnings2); a != b {
		t.Fatal("two imports of one folder differ")
	}
	byID, byTitle := map[string]kogral.Node{}, map[string]kogral.Node{}
	for _, n := range g.Nodes {
		if _, dup := byID[n.ID]; dup {
			t.Fatalf("id %s twice", n.ID)
		}
		byID[n.ID], byTitle[n.Title] = n, n
	}
	edges := map[string]bool{}
	for _, e := range g.Edges {
		edges[strings.TrimPrefix(e.Source, "brain.")+" > "+strings.TrimPrefix(e.Target, "brain.")] = true
	}
	wantEdges := func(construct string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !edges[w] {
				t.Errorf("%s: no edge %s", construct, w)
			}
		}
	}
	// Non-Latin and accented titles: their own ids, stable, linked both ways.
	for title, id := range map[string]string{"Café Crème": "brain.café-crème", "회의 노트": "brain.회의-노트", "コーヒー": "brain.コーヒー"} {
		if byTitle[title].ID != id {
			t.Errorf("%s: id %q, want %q", title, byTitle[title].ID, id)
		}
	}
	wantEdges("non-Latin links", "café-crème > 회의-노트", "café-crème > コーヒー", "회의-노트 > café-crème")
	// Titles that differ in spacing, or only in case, are distinct nodes.
	spaced, dashed, lower := byTitle["Foo Bar"], byTitle["foo-bar"], byTitle["foo bar"]
	if spaced.ID != "brain.foo-bar" || !strings.HasPrefix(dashed.ID, "brain.foo-bar-") || !strings.HasPrefix(lower.ID, "brain.foo-bar-") || dashed.ID == lower.ID {
		t.Errorf("slug collisions: %q %q %q", spaced.ID, dashed.ID, lower.ID)
	}
	wantEdges("a link reaches the first of two files of one name", strings.TrimPrefix(dashed.ID, "brain.")+" > foo-bar")
	// Code spans and code blocks are not links; an empty link is nothing.
	for _, title := range []string{"Code Span Page", "Code Block Page", "Org Code Page", "Org Inline Code", "", " "} {
		if _, ok := byTitle[title]; ok {
			t.Errorf("code or empty link %q became a page", title)
		}
	}
	wantEdges("a link next to code", "empty-ref > real")
	// Text under top-level headings, with their indented lists.
	_, blocks := logseq.ParsePage([]byte(byTitle["Heading Page"].Content))
	if len(blocks) != 2 || len(blocks[0].Children) != 2 || blocks[0].Children[0].References[0] != "Heading Child" ||
		!strings.Contains(blocks[1].Content, "plain paragraph") {
		t.Errorf("heading page blocks: %+v", blocks)
	}
	wantEdges("headings", "heading-page > heading-child", "heading-page > paragraph-link")
	// Page and block properties: values without brackets, links in them followed.
	props := byTitle["Props"]
	if props.Metadata["owner"] != "Ana" || props.Metadata["status"] != "active" {
		t.Errorf("page properties: %v", props.Metadata)
	}
	wantEdges("properties", "props > ana", "props > bob")
	// id:: block ids, ((uuid)) references and embeds, in markdown and org.
	wantEdges("block references", "コーヒー > 회의-노트", "コーヒー > props", "org-page > 회의-노트", "2020-09-15 > org-page")
	// Org pages and journals.
	org := byTitle["Org Page"]
	if org.Metadata["format"] != "org" || !slices.Contains(org.Tags, "org-tag") || !slices.Contains(org.Tags, "orgtag") ||
		fmt.Sprint(org.Metadata["tasks"]) != "[TODO]" {
		t.Errorf("org page: %+v", org)
	}
	wantEdges("org links", "org-page > café-crème", "org-page > org-target", "2020-09-16 > コーヒー")
	for _, day := range []string{"2020-09-14", "2020-09-15", "2020-09-16"} {
		if n := byID["brain."+day]; n.NodeType != "Journal" || n.Metadata["journal_day"] != day {
			t.Errorf("journal %s: %+v", day, n)
		}
	}
	// YAML frontmatter title; links written as dates reach the journals; an alias reaches its page.
	front := byTitle["Frontmatter Title"]
	if front.ID != "brain.frontmatter-title" || !slices.Contains(front.Tags, "yaml-tag") {
		t.Errorf("frontmatter page: %+v", front)
	}
	wantEdges("dates and aliases", "frontmatter-title > 2020-09-14", "frontmatter-title > 2020-09-15", "frontmatter-title > café-crème")
	if _, ok := byTitle["Coffee"]; ok || fmt.Sprint(byTitle["Café Crème"].Metadata["aliases"]) != "[coffee kaffee]" {
		t.Errorf("alias: a page of its own, or aliases %v", byTitle["Café Crème"].Metadata["aliases"])
	}
	// #tags and tags:: are edges too; CANCELED is a task marker.
	wantEdges("tags", "café-crème > drinks", "café-crème > morning-routine", "café-crème > beverage", "2020-09-14 > daily")
	if fmt.Sprint(byTitle["Café Crème"].Metadata["tasks"]) != "[CANCELLED]" {
		t.Errorf("CANCELED: %v", byTitle["Café Crème"].Metadata["tasks"])
	}
	// Namespaces: a parent edge up to a root node.
	wantEdges("namespaces", "projects-kogral-import > projects-kogral", "projects-kogral > projects", "projects-other > projects")
	if p := byTitle["projects"]; p.ID != "brain.projects" || p.Metadata["placeholder"] != true {
		t.Errorf("namespace root: %+v", p)
	}
	// Over the limits: imported, cut, each with its file:line and reason.
	if n := byTitle["Big"]; len(n.Content) > kogral.MaxContentBytes || len(n.Content) < kogral.MaxContentBytes-200 {
		t.Errorf("big page: %d bytes", len(n.Content))
	}
	if n := byTitle["Tags"]; len(n.Tags) != kogral.MaxTags {
		t.Errorf("tags page: %d tags", len(n.Tags))
	}
	if n := byID["brain."+kogral.SlugN(strings.Repeat("Long title ", 40), 200)]; len(n.Title) > kogral.MaxTitleBytes || n.Title == "" {
		// the slug is cut to fit the id, so look the page up by its file
		found := false
		for _, m := range g.Nodes {
			if m.Metadata["file"] == "pages/Long.md" && len(m.Title) <= kogral.MaxTitleBytes && strings.HasPrefix(m.Title, "Long title") {
				found = true
			}
		}
		if !found {
			t.Error("long title page")
		}
	}
	text := fmt.Sprint(warnings)
	for _, want := range []string{
		"pages/Big.md:", "over the 1 MiB a node holds: cut before this line",
		"pages/Tags.md:1: tag \"" + strings.Repeat("x", 70) + "\" is 70 bytes", "is past the 64 tags a node holds",
		"pages/Long.md:1: the title is 439 bytes, over 300: cut",
		"pages/foo bar.md:1: same page as pages/Foo Bar.md",
		"pages/whiteboard.edn:1: not a Logseq page (.edn): skipped",
		"pages/Broken Ref.md:1: block reference ((6571f2a0-0000-4c3a-9d1e-0000000000ff)) matches no block",
		"pages/Invalid.md:1: not valid UTF-8",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("warnings lack %q:\n%s", want, strings.ReplaceAll(text, "} {", "}\n{"))
		}
	}
	if _, ok := byTitle["Big Target 0"]; !ok {
		t.Error("the big page's links are lost")
	}
}

func mustJSON(t testing.TB, v ...any) string {
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// scripts are the titles of a generated graph, in several scripts.
var scripts = [][]string{
	{"Meeting", "Design", "Runbook", "Incident", "Roadmap"},
	{"Café", "Crème", "Überblick", "Señal", "Ærø"},
	{"Встреча", "Проект", "Заметка"},
	{"Σημείωση", "Έργο"},
	{"회의", "프로젝트", "노트"},
	{"会議", "メモ", "計画"},
	{"笔记", "项目"},
	{"ملاحظة", "مشروع"},
}

// writeRealisticGraph writes pages pages and a journal a day for a year or
// so: titles in eight scripts, properties with links, nested blocks, code
// blocks and spans holding brackets, block ids and references, tags,
// namespaces, links to journals written as dates; it returns the number of
// distinct page-to-page links it wrote outside code (a lower bound on edges).
func writeRealisticGraph(t testing.TB, dir string, pages, journals int) int {
	rng := rand.New(rand.NewPCG(7, 8))
	title := func(i int) string {
		s := scripts[i%len(scripts)]
		name := fmt.Sprintf("%s %s %d", s[i%len(s)], s[(i/len(s))%len(s)], i)
		if i%17 == 5 {
			name = "area/" + name
		}
		return name
	}
	uuid := func(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", i) }
	day := func(d int) time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, d) }
	links := map[[2]int]bool{}
	for i := range pages {
		var b strings.Builder
		fmt.Fprintf(&b, "type:: %s\nowner:: [[%s]]\n\n", []string{"note", "pattern", "guideline"}[i%3], title((i+1)%pages))
		links[[2]int{i, (i + 1) % pages}] = true
		for j := range 4 {
			to := rng.IntN(pages)
			if to != i {
				links[[2]int{i, to}] = true
			}
			fmt.Fprintf(&b, "- %s block %d of %s mentions [[%s]] #topic%d\n  id:: %s\n", logseq.TaskStates[(i+j)%len(logseq.TaskStates)], j, title(i), title(to), j, uuid(i*4+j))
			fmt.Fprintf(&b, "  - see ((%s)) and `[[not a link %d]]`\n", uuid(rng.IntN(pages)*4), i)
			fmt.Fprintf(&b, "  - ```go\n    m := x[[%d]]\n    ```\n", j)
		}
		fmt.Fprintf(&b, "- on [[%s]]\n", day(i%journals).Format("Jan 2, 2006"))
		rel := "pages/" + strings.ReplaceAll(title(i), "/", "___") + ".md"
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(rel)), []byte(b.String())); err != nil {
			t.Fatal(err)
		}
	}
	for d := range journals {
		name := day(d).Format("2006_01_02")
		if d%2 == 1 {
			name = day(d).Format("2006-01-02")
		}
		body := fmt.Sprintf("- NOW met about [[%s]]\n\t- DONE notes ((%s))\n", title(d%pages), uuid((d%pages)*4+1))
		if err := writeFile(filepath.Join(dir, "journals", name+".md"), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	return len(links)
}

// A realistic graph of a few hundred pages in eight scripts: one node per
// file with ids unique and the same on every run, no warning, every link
// kept, none made from code; and how fast the files are read.
func TestLogseqGeneratedGraph(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "graph")
	const pages, journals = 400, 120
	wantLinks := writeRealisticGraph(t, dir, pages, journals)
	began := time.Now()
	g, warnings, err := ImportLogseq(dir, "real")
	elapsed := time.Since(began)
	if err != nil || len(warnings) != 0 {
		t.Fatalf("import: %v %v", err, warnings)
	}
	t.Logf("read %d files into %d nodes and %d edges in %s (%.0f nodes/s)", pages+journals, len(g.Nodes), len(g.Edges), elapsed,
		float64(len(g.Nodes))/elapsed.Seconds())
	files, pageEdges := 0, 0
	ids := map[string]bool{}
	for _, n := range g.Nodes {
		ids[n.ID] = true
		if n.Metadata["file"] != nil {
			files++
		}
		if strings.Contains(n.Title, "not a link") || strings.HasPrefix(n.Title, "x[") {
			t.Fatalf("a link from code: %q", n.Title)
		}
	}
	for _, e := range g.Edges {
		if !ids[e.Source] || !ids[e.Target] {
			t.Fatalf("edge to a missing node: %+v", e)
		}
		if !strings.Contains(e.Target, "topic") && !strings.Contains(e.Target, "20") {
			pageEdges++
		}
	}
	if files != pages+journals || len(ids) != len(g.Nodes) {
		t.Fatalf("%d nodes from files, %d distinct ids of %d", files, len(ids), len(g.Nodes))
	}
	if pageEdges < wantLinks {
		t.Fatalf("%d page-to-page edges, want at least %d", pageEdges, wantLinks)
	}
	again, _, _ := ImportLogseq(dir, "real")
	if mustJSON(t, g) != mustJSON(t, again) {
		t.Fatal("a second import differs")
	}
}
