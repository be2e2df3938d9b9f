package render

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stratumiops/stratumiops/shared/kogral"
)

// header is the YAML between a rendered file's --- lines.
func header(t testing.TB, file []byte) []byte {
	t.Helper()
	rest, ok := bytes.CutPrefix(file, []byte("---\n"))
	if !ok {
		t.Fatalf("no opening ---:\n%s", file)
	}
	i := bytes.Index(rest, []byte("\n---\n"))
	if i < 0 {
		t.Fatalf("no closing ---:\n%s", file)
	}
	return rest[:i+1]
}

// sameAsYAMLv3 checks that yaml.v3 reads our header as it reads its own
// writing of the same header (what RenderFile wrote before it had its own
// writer), into the typed header and into plain maps.
func sameAsYAMLv3(t testing.TB, n kogral.Node, out []kogral.Edge) {
	t.Helper()
	ours := header(t, RenderFile(n, out))
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(headerOf(n, out)); err != nil {
		t.Fatal(err)
	}
	theirs := buf.Bytes()
	var a, b any
	var ha, hb FrontMatter
	if err := yaml.Unmarshal(ours, &a); err != nil {
		t.Fatalf("yaml.v3 cannot read our header: %v\n%s", err, ours)
	}
	if err := yaml.Unmarshal(ours, &ha); err != nil {
		t.Fatalf("yaml.v3 cannot read our header: %v\n%s", err, ours)
	}
	if yaml.Unmarshal(theirs, &b) != nil || yaml.Unmarshal(theirs, &hb) != nil {
		return // yaml.v3 cannot read its own writing (a "<<" key): ours reads
	}
	if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(ha, hb) {
		t.Fatalf("read differently:\nours:\n%s\nyaml.v3:\n%s", ours, theirs)
	}
}

// The header of a typical node is byte for byte what yaml.v3 wrote.
func TestFrontMatterAsYAMLv3Wrote(t *testing.T) {
	at := time.Date(2026, 11, 30, 7, 55, 43, 123456789, time.UTC)
	n := kogral.Node{ID: "use-surrealdb", NodeType: "Decision", Title: "Use SurrealDB", Tags: []string{"storage", "db"},
		GraphID: "web", CreatedAt: at, UpdatedAt: at.Add(time.Hour), Content: "# Use SurrealDB",
		Metadata: map[string]any{"status": "Accepted", "score": 0.5, "count": float64(3), "draft": false, "owner": nil,
			"alternatives":      []any{map[string]any{"title": "Kafka", "pros": []any{"mature"}, "cons": []any{"heavy", "JVM"}, "why_not_chosen": "too much to run"}},
			"related_decisions": []any{"use-nats"}, "nested": map[string]any{"a": []any{"x", map[string]any{"b": "c"}}}}}
	out := []kogral.Edge{{Source: n.ID, Target: "caching", Relation: "DependsOn", Weight: 0.5}, {Source: n.ID, Target: "auth", Relation: "RelatesTo"}}
	got := string(header(t, RenderFile(n, out)))
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	_ = enc.Encode(headerOf(n, out))
	if got != buf.String() {
		t.Fatalf("ours:\n%s\nyaml.v3:\n%s", got, buf.String())
	}
	sameAsYAMLv3(t, n, out)
}

// Strings YAML would read as something else, or cannot print, are quoted
// or escaped and read back as written.
func TestFrontMatterStrings(t *testing.T) {
	for _, s := range []string{"", " lead", "trail ", "a: b", "a #b", "#x", "yes", "No", "ON", "null", "~", "true", "123", "0x1F",
		"1_000", "+1", "-", "- x", "? x", "[x]", "{x}", "a, b", "&a", "*a", "!t", "!!str x", "%x", "@x", "`x`", "'x'", `"x"`, "|", ">",
		"2026-01-02", "2026-01-02T03:04:05Z", ".inf", ".nan", "a\nb", "a\tb", "a\\b", "\x01\x7f\u0085\u2028\u2029\ufeff\ufffe",
		"Café", "Cafe\u0301", "日本語のタイトル", "emoji 🚀", "end:", "x:y", "a  b", "C++", "Q&A?", "\xff\xfe not utf-8", strings.Repeat("k", 1100),
		"line\r\nbreak", "\\u0041", "'", "a'b"} {
		n := kogral.Node{ID: "x", NodeType: "Note", Title: s, Tags: []string{s, "t"}, Metadata: map[string]any{s: s, "k": []any{s, map[string]any{s: s}}}}
		sameAsYAMLv3(t, n, []kogral.Edge{{Target: "y", Relation: s}})
	}
	// yaml.v3 writes a "<<" key plain, which it then reads as a merge key
	// and refuses; ours is quoted and reads back.
	n := kogral.Node{ID: "x", NodeType: "Note", Title: "<<", Metadata: map[string]any{"<<": "<<"}}
	var back map[string]any
	if err := yaml.Unmarshal(header(t, RenderFile(n, nil)), &back); err != nil || back["metadata"].(map[string]any)["<<"] != "<<" || back["title"] != "<<" {
		t.Fatalf("a << key: %v %v", back, err)
	}
}

func FuzzFrontMatter(f *testing.F) {
	f.Add("Use SurrealDB", "storage", "status", "Accepted", 0.5)
	f.Add("a: b", "#x", "yes", "\u2028", 1e21)
	f.Fuzz(func(t *testing.T, title, tag, key, val string, num float64) {
		n := kogral.Node{ID: "x", NodeType: "Decision", Title: title, Tags: []string{tag},
			Metadata: map[string]any{key: val, "n": num, "list": []any{val, num, true, nil},
				"alternatives": []any{map[string]any{"title": title, "pros": []any{val}, "why_not_chosen": key}}}}
		if num != num { // NaN is not equal to itself in the comparison
			num = 0
		}
		n.Metadata["n"], n.Metadata["list"] = num, []any{val, num, true, nil}
		sameAsYAMLv3(t, n, []kogral.Edge{{Target: tag, Relation: key, Weight: num}})
	})
}
