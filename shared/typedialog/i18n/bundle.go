package i18n

import (
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// builtin holds TypeDialog's own wording (rule messages, the TUI's and the
// page's): locales/<lang>.ftl.
//
//go:embed locales/*.ftl
var builtin embed.FS

// Fallback is the language every lookup falls back to last.
const Fallback = "en"

// Bundle is the messages of every language: TypeDialog's own, then a form's.
type Bundle struct {
	langs map[string]map[string]*message // lower-case tag → id → message
}

// NewBundle returns a bundle with TypeDialog's own messages.
func NewBundle() *Bundle {
	b := &Bundle{langs: map[string]map[string]*message{}}
	entries, _ := builtin.ReadDir("locales")
	for _, e := range entries {
		src, _ := builtin.ReadFile("locales/" + e.Name())
		if err := b.Add(strings.TrimSuffix(e.Name(), ".ftl"), e.Name(), src); err != nil {
			panic(err) // shipped files are tested
		}
	}
	return b
}

// Add parses an .ftl file for lang; its messages replace same-named ones.
func (b *Bundle) Add(lang, file string, src []byte) error {
	msgs, err := Parse(file, src)
	if err != nil {
		return err
	}
	lang = strings.ToLower(lang)
	if b.langs[lang] == nil {
		b.langs[lang] = map[string]*message{}
	}
	for id, m := range msgs {
		b.langs[lang][id] = m
	}
	return nil
}

// AddDir adds a form's translations: dir/<lang>/<formID>.ftl for each
// language folder present. A missing dir adds nothing.
func (b *Bundle) AddDir(dir, formID string) error {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("locales: %w", err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name(), formID+".ftl")
		src, err := os.ReadFile(path)
		if !e.IsDir() || os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("locales: %w", err)
		}
		if err := b.Add(e.Name(), path, src); err != nil {
			return err
		}
	}
	return nil
}

// Languages lists the bundle's languages.
func (b *Bundle) Languages() []string {
	out := make([]string, 0, len(b.langs))
	for l := range b.langs {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Localizer looks messages up in a chain of languages.
type Localizer struct {
	b     *Bundle
	chain []string
}

// Localizer negotiates the language: each preference is a tag or an
// Accept-Language list ("es-ES,es;q=0.9,en;q=0.5"), tried in order, an
// exact tag before its base language; the fallback language comes last.
func (b *Bundle) Localizer(prefs ...string) *Localizer {
	l := &Localizer{b: b}
	seen := map[string]bool{}
	add := func(tag string) {
		if _, ok := b.langs[tag]; ok && !seen[tag] {
			seen[tag] = true
			l.chain = append(l.chain, tag)
		}
	}
	for _, p := range prefs {
		for _, tag := range acceptLanguage(p) {
			add(tag)
			base, _, _ := strings.Cut(tag, "-")
			add(base)
		}
	}
	add(Fallback)
	return l
}

// Lang is the language chosen first.
func (l *Localizer) Lang() string {
	if len(l.chain) == 0 {
		return Fallback
	}
	return l.chain[0]
}

// Get formats message id (or "id.attr") with args in the first language of
// the chain that has it.
func (l *Localizer) Get(id string, args map[string]any) (string, bool) {
	msgID, attr, _ := strings.Cut(id, ".")
	for _, lang := range l.chain {
		m, ok := l.b.langs[lang][msgID]
		if !ok {
			continue
		}
		p := m.value
		if attr != "" {
			if p, ok = m.attrs[attr]; !ok {
				continue
			}
		}
		if p != nil {
			return p.format(lang, args), true
		}
	}
	return "", false
}

// Text is Get with a fallback when no language has the message.
func (l *Localizer) Text(id, fallback string, args map[string]any) string {
	if s, ok := l.Get(id, args); ok {
		return s
	}
	return fallback
}

// acceptLanguage orders an Accept-Language value's tags by quality.
func acceptLanguage(v string) []string {
	type tagQ struct {
		tag string
		q   float64
	}
	var tags []tagQ
	for _, part := range strings.Split(v, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag, _, _ = strings.Cut(tag, ".") // a locale such as es_ES.UTF-8
		q := 1.0
		if qs, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(qs, 64); err == nil {
				q = f
			}
		}
		if tag = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(tag), "_", "-")); tag != "" && tag != "*" && q > 0 {
			tags = append(tags, tagQ{tag, q})
		}
	}
	sort.SliceStable(tags, func(i, j int) bool { return tags[i].q > tags[j].q })
	out := make([]string, len(tags))
	for i, t := range tags {
		out[i] = t.tag
	}
	return out
}
