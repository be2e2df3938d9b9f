package typedialog

import (
	"crypto/rand"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"strings"

	"github.com/stratumiops/stratumiops/shared/typedialog/form"
	"github.com/stratumiops/stratumiops/shared/typedialog/i18n"
)

// page.html is the page's shell (style and script); the fields are written
// here with every text escaped. No html/template: it looks methods up by
// name, which would keep every method of the Lambda's dependencies linked.
//
//go:embed page.html
var pageShell string

// page is the form as HTML: the fields server-rendered, a small script that
// shows and hides conditional fields, adds and removes repeatable items, and
// answers through the API (session, then submit) without reloading.
func (a *API) page(w http.ResponseWriter, r *http.Request) error {
	row, f, err := a.loadForm(r.Context(), r.PathValue("id"), r.URL.Query().Get("version"))
	if err != nil {
		return err
	}
	var n [16]byte
	_, _ = rand.Read(n[:])
	nonce := base64.RawStdEncoding.EncodeToString(n[:])
	loc := a.localizer(r, f)
	f = loc.Form(f)
	out := strings.NewReplacer("@@LANG@@", esc(loc.Lang()), "@@TITLE@@", esc(f.Form.Title), "@@BODY@@", pageBody(row, f, loc),
		"@@NONCE@@", nonce).Replace(pageShell)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; connect-src 'self'; style-src 'unsafe-inline'; script-src 'nonce-"+nonce+"'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, err = w.Write([]byte(out))
	return err
}

var esc = html.EscapeString

// pageBody writes the (localized) form; loc words the page's own text.
func pageBody(row formRow, f *form.Form, loc *i18n.Localizer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<h1>%s</h1>\n", esc(f.Form.Title))
	if f.Form.Description != "" {
		fmt.Fprintf(&b, "<p>%s</p>\n", esc(f.Form.Description))
	}
	b.WriteString(`<p><label>API key <input id="td-api-key" type="password" autocomplete="off" placeholder="X-API-Key (if your browser does not send one)"></label></p>` + "\n")
	fmt.Fprintf(&b, `<form id="td-form" data-form="%s" data-version="%s" data-required="%s" novalidate>`+"\n",
		esc(row.FormID), esc(row.Version), esc(loc.Text("page-required", "is required", nil)))
	for _, s := range f.Sections {
		fmt.Fprintf(&b, `<fieldset class="td-section" data-section="%s"><legend>%s</legend>`+"\n", esc(s.ID), esc(s.Title))
		if s.Description != "" {
			fmt.Fprintf(&b, "<p>%s</p>\n", esc(s.Description))
		}
		for _, fl := range s.Fields {
			writeField(&b, fl, loc)
		}
		b.WriteString("</fieldset>\n")
	}
	fmt.Fprintf(&b, `<button type="submit" id="td-submit">%s</button>`+"\n</form>\n", esc(loc.Text("page-submit", "Submit", nil)))
	fmt.Fprintf(&b, `<div id="td-result" hidden><h2>%s</h2><p id="td-snapshot" data-text="%s"></p><pre id="td-output"></pre></div>`+"\n",
		esc(loc.Text("page-output", "Output", nil)), esc(loc.Text("page-snapshot", "Config snapshot {id}", map[string]any{"id": "{id}", "hash": "{hash}"})))
	b.WriteString(`<ul id="td-problems" class="td-error"></ul>` + "\n")
	return b.String()
}

func writeField(b *strings.Builder, fl form.Field, loc *i18n.Localizer) {
	fmt.Fprintf(b, `<div class="td-field" data-id="%s" data-type="%s"`, esc(fl.ID), esc(fl.Type))
	if !fl.Condition.IsZero() {
		cond, _ := json.Marshal(fl.Condition)
		fmt.Fprintf(b, ` data-condition="%s"`, esc(string(cond)))
	}
	if fl.Repeatable {
		lo, hi := fl.ItemBounds()
		fmt.Fprintf(b, ` data-repeatable="true" data-min="%s" data-max="%s"`, bound(lo), bound(hi))
	}
	label := fl.Label
	if label == "" {
		label = fl.ID
	}
	if fl.Required {
		label += " *"
	}
	fmt.Fprintf(b, ">\n<label>%s</label>\n", esc(label))
	if fl.Help != "" {
		fmt.Fprintf(b, "<small>%s</small>\n", esc(fl.Help))
	}
	if fl.Type == form.TypeGroup {
		b.WriteString(`<div class="td-items"></div><template class="td-item-template"><div class="td-item">`)
		for _, sub := range fl.Fields {
			writeField(b, sub, loc)
		}
		if fl.Repeatable {
			fmt.Fprintf(b, `<button type="button" class="td-remove">%s</button>`, esc(loc.Text("page-remove", "Remove", nil)))
		}
		b.WriteString("</div></template>\n")
		if fl.Repeatable {
			fmt.Fprintf(b, `<button type="button" class="td-add">%s</button>`+"\n", esc(loc.Text("page-add", "Add "+fl.Label, map[string]any{"label": fl.Label})))
		}
	} else {
		writeInput(b, fl)
	}
	b.WriteString(`<div class="td-error"></div>` + "\n</div>\n")
}

func writeInput(b *strings.Builder, fl form.Field) {
	class := "td-input"
	if fl.DisplayMode == "grid" {
		class += " td-grid"
	}
	fmt.Fprintf(b, `<div class="%s">`, class)
	def := ""
	if fl.Default != nil {
		def = fmt.Sprint(fl.Default)
	}
	name := esc(fl.ID)
	switch fl.Type {
	case form.TypeSelect:
		fmt.Fprintf(b, `<select name="%s"><option value="">—</option>`, name)
		for _, o := range fl.Options {
			sel := ""
			if o.Value == def {
				sel = " selected"
			}
			fmt.Fprintf(b, `<option value="%s"%s>%s</option>`, esc(o.Value), sel, esc(optionLabel(o)))
		}
		b.WriteString("</select>")
	case form.TypeMultiSelect:
		for _, o := range fl.Options {
			fmt.Fprintf(b, `<label><input type="checkbox" name="%s" value="%s"> %s</label>`, name, esc(o.Value), esc(optionLabel(o)))
		}
	case form.TypeConfirm:
		checked := ""
		if def == "true" {
			checked = " checked"
		}
		fmt.Fprintf(b, `<input type="checkbox" name="%s"%s>`, name, checked)
	default:
		fmt.Fprintf(b, `<input type="%s" name="%s" value="%s" placeholder="%s">`, inputType(fl.Type), name, esc(def), esc(fl.Placeholder))
	}
	b.WriteString("</div>\n")
}

func optionLabel(o form.Option) string {
	if o.Label == "" {
		return o.Value
	}
	return o.Label
}

func inputType(t string) string {
	switch t {
	case form.TypePassword:
		return "password"
	case form.TypeNumber:
		return "number"
	case form.TypeDate:
		return "date"
	}
	return "text"
}

func bound(n *int) string {
	if n == nil {
		return ""
	}
	return fmt.Sprint(*n)
}
