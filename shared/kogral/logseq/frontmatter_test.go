package logseq

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// yamlRead is the importer's reader (package files), with yaml.v3.
func yamlRead(block []string) (map[string]string, bool, bool) {
	var m map[string]any
	if yaml.Unmarshal([]byte(strings.Join(block, "\n")), &m) != nil {
		return nil, false, false
	}
	props := map[string]string{}
	for k, v := range m {
		props[k] = fmt.Sprint(v)
	}
	return props, len(m) > 0, true
}

// skimAgrees checks SkimFrontmatter against yaml.v3 on one block: where it
// is sure, it says what yaml.v3 says; and the page's outline is the one
// read with yaml.v3 unless the skim was unsure.
func skimAgrees(t *testing.T, block string) (sure bool) {
	t.Helper()
	lines := strings.Split(block, "\n")
	var m map[string]any
	yamlOK := yaml.Unmarshal([]byte(block), &m) == nil
	keys, ok, sure := isYAMLMapping(lines)
	if sure && (ok != yamlOK || (ok && keys != len(m))) {
		t.Fatalf("skim says mapping %v with %d keys, yaml.v3 %v with %d (%v), for:\n%s", ok, keys, yamlOK, len(m), m, block)
	}
	if !sure {
		return false
	}
	page := "---\n" + block + "\n---\nkey:: value\n- TODO first [[A]]\n  - child\n- second"
	skim, full := ParseMarkdown([]byte(page)), ParseMarkdownWith([]byte(page), yamlRead)
	if !reflect.DeepEqual(skim.Blocks, full.Blocks) {
		t.Fatalf("outlines differ for:\n%s\n%+v\n%+v", block, skim.Blocks, full.Blocks)
	}
	return true
}

// The skim is sure of the frontmatter Logseq pages carry and of the usual
// mistakes, and agrees with yaml.v3 on each.
func TestSkimFrontmatter(t *testing.T) {
	sureOnes := []string{
		"", "# only a comment", "title: Frontmatter Title\ntags: [yaml-tag]", "title: x", "alias: [a, b c, 'd', \"e\"]",
		"title: Café au lait\ndate: 2020-09-14", "public: true\nrank: 3 # a comment", "title: \"quoted: colon\"",
		"title: 'it''s'", `title: "tab\tand \u00e9"`, "empty:\nother: x", "null", "~", "{}", "tags: []",
		// mistakes yaml.v3 refuses
		"title: [unclosed", "title: a: b", "title: x\ntitle: y", "- a\n- b", "just text", "title: x\nloose text",
		"title: @x", "title: `x`", "title: {open", "true", "title: ends:",
	}
	for _, b := range sureOnes {
		if !skimAgrees(t, b) {
			t.Errorf("unsure of:\n%s", b)
		}
	}
	for _, b := range []string{"a:\n  b: c", "a: |\n  text", "a: &x 1\nb: *x", "a: [x,\n  y]", "? a\n: b", "a:\tb", "<<: {a: 1}", "a: \"\\q\""} {
		skimAgrees(t, b)
	}
}

func FuzzSkimFrontmatter(f *testing.F) {
	for _, s := range []string{"title: x\ntags: [a, b]", "a: b: c", "- x", "a: 'x''y'", "a: \"\\u00e9\"", "x\ny: z", "a: [b", "k:\n- v", "a: 1\na: 2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, block string) {
		if strings.Contains(block, "---") || strings.Contains(block, "...") {
			return // the block ends at such a line
		}
		skimAgrees(t, block)
	})
}
