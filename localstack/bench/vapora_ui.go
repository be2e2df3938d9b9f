package main

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"sync"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stratumiops/stratumiops/localstack/devstack"
)

// Vapora's page in headless Chromium (issue 22): how long a board of 500
// tasks takes to be usable, and how long a card move made in one browser
// takes to show in another, over 100 keyboard moves. Both are measured in
// the browsers (performance.now on the page clock, the same machine clock in
// both), not by polling from Go.
const (
	uiBoardTasks = 500
	uiLoads      = 10
	uiMoves      = 100
	uiRenderGoal = time.Second
	uiMoveGoal   = 500 * time.Millisecond
)

// benchUI runs the two measures and prints each beside the target.
func benchUI(ep devstack.Endpoints, clients int) ([]result, error) {
	path, err := exec.LookPath("chromium")
	if err != nil {
		return nil, fmt.Errorf("the ui scenario needs chromium (make deps installs it): %w", err)
	}
	api := &vaporaClient{base: ep.Gateways["vapora"], key: ep.APIKey, http: keepAliveClient(clients)}
	project, tasks, err := fillBoard(api, clients, uiBoardTasks)
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	root, cancelRoot := chromedp.NewContext(alloc)
	defer cancelRoot()
	if err := chromedp.Do(root); err != nil {
		return nil, fmt.Errorf("start chromium: %w", err)
	}
	tab := func() (context.Context, context.CancelFunc) {
		return chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	}
	url := ep.Gateways["vapora"] + "/ui/projects/" + project + "?token=" + ep.APIKey
	load, draw, err := uiLoad(tab, url)
	if err != nil {
		return nil, err
	}
	began := time.Now()
	moves, err := uiMovesSeen(tab, url, tasks[:20])
	if err != nil {
		return nil, err
	}
	fmt.Printf("\nVapora page, headless Chromium, board of %d tasks:\n", uiBoardTasks)
	fmt.Printf("  board usable after navigation: p50 %v, max %v over %d loads (drawing alone p50 %v)   target ≤ %v\n",
		load.p50.Round(time.Millisecond), load.p99.Round(time.Millisecond), load.ops, draw.Round(time.Millisecond), uiRenderGoal)
	fmt.Printf("  keyboard move seen by the other browser: p50 %v, p95 %v, max %v over %d moves   target p95 ≤ %v\n",
		moves[len(moves)/2].Round(time.Millisecond), moves[len(moves)*95/100].Round(time.Millisecond),
		moves[len(moves)-1].Round(time.Millisecond), len(moves), uiMoveGoal)
	load.p99Target = uiRenderGoal
	seen := result{name: "ui: move seen elsewhere", ops: int64(len(moves)), elapsed: time.Since(began), p50: moves[len(moves)/2],
		p99: moves[len(moves)*99/100], p99Target: uiMoveGoal}
	return []result{load, seen}, nil
}

// fillBoard creates a project with n tasks spread over the four columns.
func fillBoard(api *vaporaClient, clients, n int) (string, []string, error) {
	var p struct{ ID string }
	if err := api.do("POST", "/projects", map[string]any{"name": fmt.Sprintf("ui-board-%d", n), "scope": "demo"}, &p); err != nil {
		return "", nil, err
	}
	statuses := []string{"Todo", "Doing", "Review", "Done"}
	tasks := make([]string, n)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += clients {
				var t struct{ ID string }
				body := map[string]any{"project_id": p.ID, "title": fmt.Sprintf("card %d", i), "status": statuses[i%4],
					"priority": "Medium", "tags": []string{"bench"}}
				if err := api.do("POST", "/tasks", body, &t); err != nil {
					errs <- err
					return
				}
				tasks[i] = t.ID
			}
		}()
	}
	wg.Wait()
	close(errs)
	return p.ID, tasks, <-errs
}

// uiLoad opens the board uiLoads times, each in a fresh browser context, and
// reads when it became usable (the page's board-ready mark, from the start of
// the navigation: page, scripts, the API's 500 tasks, the drawing, the drag
// and drop handlers) and what the drawing alone cost.
func uiLoad(tab func() (context.Context, context.CancelFunc), url string) (result, time.Duration, error) {
	var loads, draws []time.Duration
	began := time.Now()
	for range uiLoads {
		ctx, cancel := tab()
		_, err := chromedp.Run(ctx, chromedp.Navigate(url))
		if err == nil {
			_, err = chromedp.Run(ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#board')?.dataset.ready === 'true'`,
				chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(5*time.Millisecond)))
		}
		var ms []float64
		if err == nil {
			ms, err = chromedp.Run(ctx, chromedp.Evaluate[[]float64](`[performance.getEntriesByName('board-ready')[0].startTime,
				Number(document.querySelector('#board').dataset.renderMs), document.querySelectorAll('.card').length]`))
		}
		cancel()
		if err != nil {
			return result{}, 0, fmt.Errorf("load the board: %w", err)
		}
		if int(ms[2]) != uiBoardTasks {
			return result{}, 0, fmt.Errorf("the board shows %v cards, want %d", ms[2], uiBoardTasks)
		}
		loads = append(loads, time.Duration(ms[0]*float64(time.Millisecond)))
		draws = append(draws, time.Duration(ms[1]*float64(time.Millisecond)))
	}
	slices.Sort(loads)
	slices.Sort(draws)
	r := result{name: fmt.Sprintf("ui: board of %d usable", uiBoardTasks), ops: int64(len(loads)), elapsed: time.Since(began),
		p50: loads[len(loads)/2], p99: loads[len(loads)-1]}
	return r, draws[len(draws)/2], nil
}

// observeJS makes a page note when the card it watches (window.uiWatch)
// shows in the column it waits for: the page's clock, from the epoch.
const observeJS = `(() => {
  window.uiSeen = {};
  new MutationObserver(() => {
    const w = window.uiWatch;
    if (!w || window.uiSeen[w.key]) return;
    const el = document.querySelector('[data-task-id="' + w.id + '"]');
    if (el && el.closest('[data-status]')?.dataset.status === w.status) window.uiSeen[w.key] = performance.timeOrigin + performance.now();
  }).observe(document.body, { childList: true, subtree: true });
})()`

// uiMovesSeen opens the board in two browsers and moves cards uiMoves times
// from the keyboard in the first, Todo → Doing and back, timing each from
// the key press to the card showing in its new column in the second.
func uiMovesSeen(tab func() (context.Context, context.CancelFunc), url string, cards []string) ([]time.Duration, error) {
	a, cancelA := tab()
	defer cancelA()
	b, cancelB := tab()
	defer cancelB()
	live := chromedp.Poll[chromedp.Void](`document.querySelector('#board')?.dataset.live === 'on'`, chromedp.WithPollingTimeout(30*time.Second))
	for _, ctx := range []context.Context{a, b} {
		if _, err := chromedp.Run(ctx, chromedp.Navigate(url)); err != nil {
			return nil, err
		}
		if _, err := chromedp.Run(ctx, live); err != nil {
			return nil, fmt.Errorf("the board never went live: %w", err)
		}
	}
	if _, err := chromedp.Run(b, chromedp.Evaluate[chromedp.Void](observeJS)); err != nil {
		return nil, err
	}
	var todo []string // cards of the Todo column (the board puts every fourth there)
	for i := 0; i < len(cards); i += 4 {
		todo = append(todo, cards[i])
	}
	where := map[string]string{}
	var seen []time.Duration
	for i := range uiMoves {
		id := todo[i%len(todo)]
		key, to := "ArrowRight", "Doing"
		if where[id] == "Doing" {
			key, to = "ArrowLeft", "Todo"
		}
		watchKey := fmt.Sprintf("%s:%s:%d", id, to, i)
		if _, err := chromedp.Run(b, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.uiWatch = {id: %q, status: %q, key: %q}`, id, to, watchKey))); err != nil {
			return nil, err
		}
		t0, err := chromedp.Run(a, chromedp.Evaluate[float64](fmt.Sprintf(`(() => {
			const li = document.querySelector('[data-task-id=%q]');
			const t0 = performance.timeOrigin + performance.now();
			li.dispatchEvent(new KeyboardEvent('keydown', { key: %q, bubbles: true }));
			return t0; })()`, id, key)))
		if err != nil {
			return nil, fmt.Errorf("move %d: %w", i, err)
		}
		t1, err := chromedp.Run(b, chromedp.Poll[float64](fmt.Sprintf(`window.uiSeen[%q]`, watchKey),
			chromedp.WithPollingTimeout(30*time.Second), chromedp.WithPollingInterval(5*time.Millisecond)))
		if err != nil {
			return nil, fmt.Errorf("move %d never reached the other browser: %w", i, err)
		}
		seen = append(seen, time.Duration((t1-t0)*float64(time.Millisecond)))
		where[id] = to
		time.Sleep(100 * time.Millisecond) // the first browser reads the board back
	}
	slices.Sort(seen)
	return seen, nil
}
