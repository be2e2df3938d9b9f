package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/stratumiops/stratumiops/shared/platform/principal"
	"github.com/stratumiops/stratumiops/shared/vapora/llm/llmtest"
)

// Vapora's page in a real headless Chromium (issue 22): sign-in, projects,
// the board with drag and drop and keyboard moves, refused moves rolled back
// with a message, card details, another scope's project out of reach, and
// screenshots of the board, agents and costs pages.

// browserWait bounds every wait on the page; generous, the machine is shared.
const browserWait = 30 * time.Second

type tab struct {
	t   *testing.T
	ctx context.Context
}

func (p tab) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatal(err)
	}
}

// until waits for a JavaScript expression to be truthy in the page.
func (p tab) until(what, expr string) {
	p.t.Helper()
	_, err := chromedp.Run(p.ctx, chromedp.Poll[chromedp.Void](expr, chromedp.WithPollingTimeout(browserWait), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		var page string
		page, _ = chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		p.t.Fatalf("%s: %v\npage text: %.600s", what, err, page)
	}
}

// click clicks the element sel names once it is there, in the page itself:
// a live page may render it again between chromedp finding the node and
// clicking it ("Could not find node with given id").
func (p tab) click(what, sel string) {
	p.t.Helper()
	p.until(what, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (e) e.click(); return e !== null })()`, sel))
}

func (p tab) eval(expr string) string {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		p.t.Fatal(err)
	}
	return v
}

// columnOf is the expression naming the column a card is shown in (” when absent).
func columnOf(task string) string {
	return fmt.Sprintf(`(document.querySelector('[data-task-id=%q]')?.closest('[data-status]')?.dataset.status || '')`, task)
}

func cardIn(task, column string) string { return columnOf(task) + ` === '` + column + `'` }

// startBrowser starts chromium and returns a function making tabs, each in
// its own browser context (its own cookies and session storage).
func startBrowser(t *testing.T) func() tab {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: make deps installs it (scripts/install-debian.sh chromium)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	root, cancelRoot := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelRoot(); cancelAlloc() })
	if err := chromedp.Do(root); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return func() tab {
		ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		return tab{t: t, ctx: ctx}
	}
}

func TestVaporaBoardInBrowser(t *testing.T) {
	base := ep.Gateways["vapora"]
	if base == "" {
		t.Skip("no vapora gateway")
	}
	dev := caller{t: t, header: "X-API-Key", value: ep.APIKey}
	if dev.value == "" {
		t.Skip("the target publishes no API key")
	}
	project := dev.must(201, "POST", "/projects", fmt.Sprintf(`{"name":%q,"scope":"demo","description":"board in a browser"}`, unique("ui-board")))["id"].(string)
	task := func(title, priority string) string {
		return dev.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":%q,"priority":%q,"tags":["ui","e2e"]}`, project, title, priority))["id"].(string)
	}
	dragged, refused, keyed, other := task("Drag me", "High"), task("Refuse me", "Critical"), task("Key me", "Low"), task("Stay", "Medium")
	api := func(t *testing.T) caller { c := dev; c.t = t; return c }
	status := func(t *testing.T, id string) string {
		return api(t).must(200, "GET", "/tasks/"+id, "")["status"].(string)
	}

	newTab := startBrowser(t)
	a, b := newTab(), newTab()
	board := base + "/ui/projects/" + project
	// signed makes each subtest stand alone: a link signs the tab in.
	signed := "?token=" + ep.APIKey

	t.Run("sign-in", func(t *testing.T) {
		a.t = t
		a.do(chromedp.Navigate(base+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#sign-in")))
		a.do(chromedp.SendKeys(chromedp.CSS("#token"), "not-a-key"), chromedp.Click(chromedp.CSS("#sign-in-submit")))
		a.until("a wrong key shows the sign-in again", `document.querySelector('#sign-in-note')?.textContent.includes('refused')`)
		a.do(chromedp.SendKeys(chromedp.CSS("#token"), ep.APIKey), chromedp.Click(chromedp.CSS("#sign-in-submit")))
		a.until("the projects list shows the project", fmt.Sprintf(`!!document.querySelector('[data-project-id=%q]')`, project))
		// ?token= signs a link in (a JWT here, sent as a bearer token), and
		// leaves the address bar; an expired one shows the sign-in.
		b.t = t
		if ep.JWTSecret == "" {
			t.Skip("the target has no JWT secret to sign a link with")
		}
		auth, err := principal.New(principal.Config{JWTSecret: ep.JWTSecret}.ForSystem("vapora"))
		if err != nil {
			t.Fatal(err)
		}
		expired, _ := auth.Issue("ui-reader", []string{"demo"}, -time.Minute)
		b.do(chromedp.Navigate(board + "?token=" + expired))
		b.until("an expired JWT shows the sign-in", `document.querySelector('#sign-in-note')?.textContent.includes('refused')`)
		b.do(chromedp.Navigate(board + "?token=" + systemToken(t, "vapora", "ui-reader", "demo")))
		b.until("the board loads from a signed link", cardIn(dragged, "Todo"))
		if u := b.eval(`location.href`); strings.Contains(u, "token") {
			t.Fatalf("the token stayed in the address bar: %s", u)
		}
	})

	t.Run("drag-and-drop", func(t *testing.T) {
		a.t = t
		a.do(chromedp.Navigate(board + signed))
		a.until("the board shows the card in Todo", cardIn(dragged, "Todo"))
		a.do(chromedp.DragAndDrop(chromedp.CSS(fmt.Sprintf(`[data-task-id=%q]`, dragged)), chromedp.CSS(`[data-status="Doing"] ol.cards`)))
		a.until("the card shows in Doing", cardIn(dragged, "Doing"))
		eventually(t, "the API has the card in Doing", browserWait, func() bool { return status(t, dragged) == "Doing" })
	})

	t.Run("refused-move-rolls-back", func(t *testing.T) {
		a.t = t
		a.do(chromedp.Navigate(board + signed))
		a.until("the board shows the card in Todo", cardIn(refused, "Todo"))
		// Todo → Done skips two steps: the API answers 409.
		a.do(chromedp.DragAndDrop(chromedp.CSS(fmt.Sprintf(`[data-task-id=%q]`, refused)), chromedp.CSS(`[data-status="Done"] ol.cards`)))
		a.until("a message says the move was refused", `(() => { const m = document.querySelector('#message'); return !m.hidden && m.classList.contains('error') && m.textContent.includes('Could not move'); })()`)
		a.until("the card is back in Todo", cardIn(refused, "Todo"))
		if s := status(t, refused); s != "Todo" {
			t.Fatalf("refused card is %s in the API", s)
		}
	})

	t.Run("keyboard", func(t *testing.T) {
		a.t = t
		a.do(chromedp.Navigate(board + signed))
		a.until("the board shows the card in Todo", cardIn(keyed, "Todo"))
		sel := chromedp.CSS(fmt.Sprintf(`[data-task-id=%q]`, keyed))
		a.do(chromedp.Focus(sel), chromedp.KeyEvent(kb.ArrowRight))
		a.until("the card moved to Doing", cardIn(keyed, "Doing"))
		eventually(t, "the API has the keyed card in Doing", browserWait, func() bool { return status(t, keyed) == "Doing" })
		// Alt+ArrowUp moves it above the card dragged there before.
		a.until("the board has settled", fmt.Sprintf(`document.activeElement?.dataset.taskId === %q`, keyed))
		a.do(chromedp.KeyEvent(kb.ArrowUp, chromedp.KeyModifiers(chromedp.ModifierAlt)))
		eventually(t, "the API has the keyed card first in Doing", browserWait, func() bool {
			return api(t).must(200, "GET", "/tasks/"+keyed, "")["order"].(float64) == 0
		})
		a.until("the page shows it first", fmt.Sprintf(`document.querySelector('[data-status="Doing"] .card')?.dataset.taskId === %q`, keyed))
	})

	t.Run("drag-within-column", func(t *testing.T) {
		a.t = t
		a.do(chromedp.Navigate(board + signed))
		// Todo holds the refused card, then this one: dropping it on the
		// first card puts it first (PUT /tasks/{id}/order).
		a.until("Todo holds two cards", fmt.Sprintf(`[...document.querySelectorAll('[data-status="Todo"] .card')].map(c => c.dataset.taskId).join() === %q`, refused+","+other))
		a.do(chromedp.DragAndDrop(chromedp.CSS(fmt.Sprintf(`[data-task-id=%q]`, other)), chromedp.CSS(fmt.Sprintf(`[data-task-id=%q]`, refused))))
		eventually(t, "the API has the card first in Todo", browserWait, func() bool {
			return api(t).must(200, "GET", "/tasks/"+other, "")["order"].(float64) == 0
		})
		a.until("the page shows it first", fmt.Sprintf(`document.querySelector('[data-status="Todo"] .card')?.dataset.taskId === %q`, other))
	})

	t.Run("card-details", func(t *testing.T) {
		a.t = t
		a.do(chromedp.Navigate(board + signed))
		a.until("the board shows the card", columnOf(other)+` !== ''`)
		a.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`[data-task-id=%q] .title`, other))))
		a.until("the details dialog shows the card", fmt.Sprintf(`document.querySelector('#details').open && document.querySelector('#details').dataset.taskId === %q && document.querySelector('[data-field=priority]').textContent === 'Medium'`, other))
		a.do(chromedp.Click(chromedp.CSS("#details-close")))
	})

	t.Run("create-and-filter", func(t *testing.T) {
		a.t = t
		name := unique("ui-created")
		a.do(chromedp.Navigate(base+"/ui/"+signed), chromedp.WaitVisible(chromedp.CSS("#new-project")), chromedp.Click(chromedp.CSS("#new-project")),
			chromedp.SendKeys(chromedp.CSS("#create-name"), name), chromedp.SendKeys(chromedp.CSS("#create-scope"), "demo"),
			chromedp.Click(chromedp.CSS("#create-submit")))
		a.until("the new project is listed", fmt.Sprintf(`[...document.querySelectorAll('.project h2')].some(e => e.textContent === %q)`, name))
		held := api(t).must(201, "POST", "/projects", fmt.Sprintf(`{"name":%q,"scope":"demo"}`, unique("ui-held")))["id"].(string)
		api(t).must(200, "PUT", "/projects/"+held, `{"status":"OnHold"}`)
		a.do(chromedp.Navigate(base + "/ui/"))
		a.until("the list is loaded", `document.querySelector('#projects')?.getAttribute('aria-busy') === 'false'`)
		a.do(chromedp.SetValue(chromedp.CSS("#status-filter"), "OnHold"),
			chromedp.Evaluate[chromedp.Void](`document.querySelector('#status-filter').dispatchEvent(new Event('change'))`))
		a.until("only OnHold projects are listed", fmt.Sprintf(`(() => { const ps = [...document.querySelectorAll('[data-project-id]')];
			return ps.some(p => p.dataset.projectId === %q) && ps.every(p => p.dataset.status === 'OnHold'); })()`, held))
		if !strings.Contains(a.eval(`location.search`), "status=OnHold") {
			t.Fatal("the filter is not in the address")
		}
		a.do(chromedp.Click(chromedp.CSS("#toggle-view")))
		a.until("the list view keeps the filter", `document.querySelector('#projects.list')?.getAttribute('aria-busy') === 'false' && location.search.includes('status=OnHold')`)
		a.do(chromedp.Click(chromedp.CSS("#toggle-view")))
		a.until("the grid view is back", `!!document.querySelector('#projects.grid')`)
	})

	t.Run("another-scope", func(t *testing.T) {
		a.t = t
		outsider := jwtCaller(t, unique("outsider"), "ui-other")
		theirs := outsider.must(201, "POST", "/projects", `{"name":"not yours","scope":"ui-other"}`)["id"].(string)
		outsider.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":"secret card"}`, theirs))
		a.do(chromedp.Navigate(base + "/ui/projects/" + theirs + signed))
		a.until("the page says there is no such project", `!!document.querySelector('#load-error')`)
		if n := a.eval(`String(document.querySelectorAll('#board, .card').length)`); n != "0" {
			t.Fatalf("%s board elements rendered for another scope's project", n)
		}
		if code := a.eval(`document.querySelector('#load-error').dataset.statusCode`); code != "403" && code != "404" {
			t.Fatalf("status %s", code)
		}
		if strings.Contains(a.eval(`document.body.innerText`), "secret card") {
			t.Fatal("another scope's card is on the page")
		}
	})

	t.Run("screenshots", func(t *testing.T) {
		a.t = t
		api(t).must(201, "POST", "/agents/register", `{"role":"Developer","provider":"Claude","capabilities":["go"]}`)
		seedCosts(t)
		dir := shotsDir(t)
		for _, s := range []struct{ name, path, ready string }{
			{"board", "/ui/projects/" + project, `document.querySelector('#board')?.dataset.ready === 'true'`},
			{"agents", "/ui/agents", `!!document.querySelector('#agents .agent') && !!document.querySelector('#heatmap')`},
			{"costs", "/ui/costs", `document.querySelectorAll('canvas.chart').length === 3 && !!document.querySelector('#costs-total')`},
		} {
			a.do(chromedp.Navigate(base + s.path + signed))
			a.until(s.name+" page ready", s.ready)
			shot, err := chromedp.Run(a.ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			checkShot(t, s.name, shot)
			if err := os.WriteFile(filepath.Join(dir, "vapora-"+s.name+".png"), shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// shotsDir is .stratum/shots at the repository's root.
func shotsDir(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for ; dir != "/"; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
	}
	shots := filepath.Join(dir, ".stratum", "shots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return shots
}

// checkShot fails on a small or blank screenshot: it must decode, be at least
// the window's size, and show content (many colours, a fair share of pixels
// off the background).
func checkShot(t *testing.T, name string, raw []byte) {
	t.Helper()
	if len(raw) < 10_000 {
		t.Fatalf("%s screenshot: %d bytes", name, len(raw))
	}
	img, _, err := image.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s screenshot: %v", name, err)
	}
	bounds := img.Bounds()
	if bounds.Dx() < 1000 || bounds.Dy() < 600 {
		t.Fatalf("%s screenshot is %v", name, bounds)
	}
	colours := map[uint32]int{}
	samples := 0
	for y := bounds.Min.Y; y < bounds.Max.Y; y += 4 {
		for x := bounds.Min.X; x < bounds.Max.X; x += 4 {
			r, g, b, _ := img.At(x, y).RGBA()
			colours[(r>>12)<<8|(g>>12)<<4|b>>12]++
			samples++
		}
	}
	top := 0
	for _, n := range colours {
		top = max(top, n)
	}
	if len(colours) < 20 || float64(top) > 0.97*float64(samples) {
		t.Fatalf("%s screenshot looks blank: %d colours, the commonest covers %d of %d samples", name, len(colours), top, samples)
	}
}

// seedCosts records LLM calls of two roles on two providers (local servers
// speaking the providers' wire formats), with a budget for one role, so the
// costs page has something to chart. The routing rules are global: the test
// puts the previous ones back.
func seedCosts(t *testing.T) {
	t.Helper()
	claude, gpt := llmtest.New("anthropic", "sk-ant-ui"), llmtest.New("openai", "sk-oa-ui")
	t.Cleanup(claude.Close)
	t.Cleanup(gpt.Close)
	ops := jwtCaller(t, "ui-ops", "llm", "agents")
	run := unique("ui")
	pc, pg := run+"-claude", run+"-gpt"
	ops.must(200, "PUT", "/llm/providers/"+pc, fmt.Sprintf(`{"kind":"anthropic","base_url":%q,"api_key":"sk-ant-ui",
		"models":{"claude-sonnet":{"input_cents_per_mtok":300,"output_cents_per_mtok":1500}},"timeout_ms":5000}`, claude.URL))
	ops.must(200, "PUT", "/llm/providers/"+pg, fmt.Sprintf(`{"kind":"openai","base_url":%q,"api_key":"sk-oa-ui",
		"models":{"gpt-mini":{"input_cents_per_mtok":15,"output_cents_per_mtok":60}},"timeout_ms":5000}`, gpt.URL+"/v1"))
	before := ops.do("GET", "/llm/rules", "")
	previous, _ := json.Marshal(before.Body)
	t.Cleanup(func() { ops.do("PUT", "/llm/rules", string(previous)) })
	ops.must(200, "PUT", "/llm/rules", fmt.Sprintf(`{"rules":[
		{"pattern":"^design","provider":%q,"model":"claude-sonnet","fallback_chain":[]},
		{"pattern":".*","provider":%q,"model":"gpt-mini","fallback_chain":[]}]}`, pc, pg))
	ops.must(200, "PUT", "/llm/budget/Marketer", `{"monthly_limit_cents":500}`)
	for _, call := range [][2]string{{"Marketer", "design"}, {"Marketer", "copy"}, {"Presenter", "design"}, {"Presenter", "slides"}} {
		ops.must(200, "POST", "/llm/route", fmt.Sprintf(`{"role":%q,"task_type":%q,"agent_id":"ui",
			"messages":[{"role":"user","content":"write it"}],"max_tokens":500}`, call[0], call[1]))
	}
}
