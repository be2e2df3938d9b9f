package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/stratumiops/stratumiops/shared/typedialog"
)

// formPage drives TypeDialog's HTML page in a real headless Chromium (a small
// helper of its own; Vapora's board test has a similar one).
type formPage struct {
	t   *testing.T
	ctx context.Context
}

// openFormPage starts chromium, sends the devstack's API key with every
// request (the page and its fetches) and opens url.
func openFormPage(t *testing.T, url string) formPage {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: make deps installs it (scripts/install-debian.sh chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browser, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	headers := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"X-API-Key": ep.APIKey}})
		return err
	})
	p := formPage{t: t, ctx: browser}
	if err := chromedp.Do(browser, headers, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return p
}

func (p formPage) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

// until waits for a JavaScript expression to be truthy; the bound only ends
// a failing test.
func (p formPage) until(what, expr string) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		text, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		p.t.Fatalf("%s: %v\npage text: %.800s", what, err, text)
	}
}

func (p formPage) eval(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// choose picks an option of a select the way the browser reports it: value, then a change event.
func (p formPage) choose(name, value string) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`(() => { const s = document.querySelector('select[name=%q]'); s.value = %q;
		s.dispatchEvent(new Event('change', {bubbles: true})); return s.value })()`, name, value))
}

// registerExampleForm registers the seed's example form with its Spanish
// translations, its output template and its CUE contract (POST /forms as
// JSON) and returns the answer.
func registerExampleForm(t *testing.T) map[string]any {
	t.Helper()
	def, err := os.ReadFile("../../schemas/forms/examples/employee.toml")
	if err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadFile("../../schemas/forms/examples/locales/es/example_form.ftl")
	if err != nil {
		t.Fatal(err)
	}
	tera, err := os.ReadFile("../../schemas/forms/examples/employee.tera")
	if err != nil {
		t.Fatal(err)
	}
	cue, err := os.ReadFile("../../schemas/forms/examples/employee.cue")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(typedialog.FormUpload{Definition: string(def), Locales: map[string]string{"es": string(es)},
		Template: string(tera), Contract: string(cue)})
	req, _ := http.NewRequestWithContext(ctx(t), "POST", ep.Gateways["typedialog"]+"/forms", bytes.NewReader(body))
	req.Header.Set("X-API-Key", ep.APIKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("register the example form: %d %v", res.StatusCode, out)
	}
	return out
}

const teamSizeShown = `!document.querySelector('.td-field[data-id="team_size"]').hidden`

// TypeDialog's page in headless Chromium: conditional fields appear and
// disappear (dropping their value), a repeatable group grows, a field error
// is shown next to its field, and a submission stores its config snapshot.
func TestTypeDialogPageInBrowser(t *testing.T) {
	registerExampleForm(t)
	p := openFormPage(t, ep.Gateways["typedialog"]+"/forms/example_form/page")

	p.until("one project item", `document.querySelectorAll('[data-id="projects"] .td-items > .td-item').length === 1`)
	p.until("team size hidden before a department", "!("+teamSizeShown+")")
	p.do(chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "Ada Lovelace"),
		chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "bad-email"))
	p.choose("department", "engineering")
	p.until("team size shown for engineering", teamSizeShown)
	p.choose("team_size", "medium")
	p.choose("department", "design")
	p.until("team size hidden for design", "!("+teamSizeShown+")")
	p.choose("department", "engineering")
	p.until("team size back, its value dropped", teamSizeShown+` && document.querySelector('select[name="team_size"]').value === ''`)

	p.do(chromedp.SendKeys(chromedp.CSS(`[data-id="projects"] .td-item input[name="project_name"]`), "engine"),
		chromedp.Click(chromedp.CSS(`[data-id="projects"] > .td-add`)))
	p.until("a second project", `document.querySelectorAll('[data-id="projects"] .td-items > .td-item').length === 2`)
	p.do(chromedp.SendKeys(chromedp.CSS(`[data-id="projects"] .td-item:nth-child(2) input[name="project_name"]`), "web"),
		chromedp.Click(chromedp.CSS(`#td-submit`)))
	p.until("the email's error next to it", `document.querySelector('.td-field[data-id="email"] > .td-error').textContent.includes('must match')`)
	if !strings.Contains(p.eval(`document.getElementById('td-problems').innerText`), "email: must match") ||
		p.eval(`String(document.getElementById('td-result').hidden)`) != "true" {
		t.Fatalf("problems: %s", p.eval(`document.body.innerText`))
	}

	p.eval(`(() => { const e = document.querySelector('input[name="email"]'); e.value = ''; return '' })()`)
	p.do(chromedp.SendKeys(chromedp.CSS(`input[name="email"]`), "ada@example.org"))
	p.choose("team_size", "small")
	p.do(chromedp.Click(chromedp.CSS(`#td-submit`)))
	p.until("the output shown", `!document.getElementById('td-result').hidden`)
	var out map[string]any
	if err := json.Unmarshal([]byte(p.eval(`document.getElementById('td-output').textContent`)), &out); err != nil ||
		out["team_size"] != "small" || out["email"] != "ada@example.org" || len(out["projects"].([]any)) != 2 {
		t.Fatalf("output %v (%v)", out, err)
	}
	if p.eval(`document.querySelector('.td-field[data-id="email"] > .td-error').textContent`) != "" {
		t.Fatal("the email's error stayed after a good submission")
	}
	sid := p.eval(`document.getElementById('td-snapshot').dataset.id`)
	if !strings.Contains(p.eval(`document.getElementById('td-snapshot').textContent`), "Config snapshot "+sid) {
		t.Fatalf("snapshot line: %s", p.eval(`document.getElementById('td-snapshot').textContent`))
	}
	snap, err := typedialog.NewStore(surrealClient(t, "typedialog")).Snapshot(ctx(t), sid)
	if err != nil || snap.FormID != "example_form" || snap.Output["team_size"] != "small" || snap.Target != "" || len(snap.ConfigHash) != 64 {
		t.Fatalf("snapshot %s: %+v (%v)", sid, snap, err)
	}

	// The same page in Spanish: the form's translations, the page's own
	// words, and the API's rule messages (the page asks in its language).
	p.do(chromedp.Navigate(ep.Gateways["typedialog"] + "/forms/example_form/page?lang=es"))
	p.until("the Spanish page", `document.documentElement.lang === 'es' && document.body.innerText.includes('Nombre completo') && document.getElementById('td-submit').textContent === 'Enviar'`)
	p.do(chromedp.SendKeys(chromedp.CSS(`input[name="name"]`), "A"), chromedp.Click(chromedp.CSS(`#td-submit`)))
	p.until("a Spanish rule message", `document.querySelector('.td-field[data-id="name"] > .td-error').textContent.includes('debe tener al menos 2 caracteres')`)
	if !strings.Contains(p.eval(`document.getElementById('td-problems').innerText`), "email: es obligatorio") {
		t.Fatalf("problems in Spanish: %s", p.eval(`document.getElementById('td-problems').innerText`))
	}
}
