package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"
	"github.com/surrealdb/surrealdb.go/pkg/models"

	"github.com/stratumiops/stratumiops/shared/platform/awscfg"
	"github.com/stratumiops/stratumiops/shared/platform/surreal"
	"github.com/stratumiops/stratumiops/shared/vapora"
)

// The live board (issue 22): two browsers on one board see each other's
// moves and the API's through Vapora's WebSocket API, a socket without
// credentials is refused, a dropped socket comes back and reads the board
// again, and a connection gone from the WebSocket API is forgotten on 410.

func TestVaporaBoardLive(t *testing.T) {
	base := ep.Gateways["vapora"]
	if base == "" || ep.APIKey == "" {
		t.Skip("no vapora gateway or API key")
	}
	dev := caller{t: t, header: "X-API-Key", value: ep.APIKey}
	project := dev.must(201, "POST", "/projects", fmt.Sprintf(`{"name":%q,"scope":"demo"}`, unique("ui-live")))["id"].(string)
	task := func(title string) string {
		return dev.must(201, "POST", "/tasks", fmt.Sprintf(`{"project_id":%q,"title":%q}`, project, title))["id"].(string)
	}
	dragged, moved, later := task("Drag me live"), task("Move me by API"), task("Move me after the drop")

	newTab := startBrowser(t)
	a, b := newTab(), newTab()
	board := base + "/ui/projects/" + project + "?token=" + ep.APIKey
	subscribed := `document.querySelector('#board')?.dataset.live === 'on'`
	a.do(chromedp.Navigate(board))
	b.do(chromedp.Navigate(board))
	a.until("the first page watches the board", subscribed)
	b.until("the second page watches the board", subscribed)

	t.Run("drag-shows-in-the-other-browser", func(t *testing.T) {
		a.t, b.t = t, t
		began := time.Now()
		a.do(chromedp.DragAndDrop(chromedp.CSS(fmt.Sprintf(`[data-task-id=%q]`, dragged)), chromedp.CSS(`[data-status="Doing"] ol.cards`)))
		b.until("the second page shows the card in Doing", cardIn(dragged, "Doing"))
		// The issue asks for 1 s; the machine is shared, so the figure is
		// reported rather than asserted.
		t.Logf("the drag reached the other browser %v after it began", time.Since(began).Round(time.Millisecond))
		if s := dev.must(200, "GET", "/tasks/"+dragged, "")["status"]; s != "Doing" {
			t.Fatalf("the API has the dragged card in %v", s)
		}
	})

	t.Run("api-move-shows-in-both", func(t *testing.T) {
		a.t, b.t = t, t
		dev.must(200, "PUT", "/tasks/"+moved+"/status", `{"status":"Doing"}`)
		a.until("the first page shows the API's move", cardIn(moved, "Doing"))
		b.until("the second page shows the API's move", cardIn(moved, "Doing"))
	})

	t.Run("connect-without-credentials-is-refused", func(t *testing.T) {
		ws := "ws" + strings.TrimPrefix(base, "http") + "/ws"
		ctx, cancel := context.WithTimeout(context.Background(), browserWait)
		defer cancel()
		for _, q := range []string{"", "?token=not-a-key"} {
			c, res, err := websocket.Dial(ctx, ws+q, wsDial)
			if err == nil {
				c.CloseNow()
				t.Fatalf("$connect%s was accepted", q)
			}
			if res == nil || res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("$connect%s: want 401, got %v (%v)", q, res, err)
			}
		}
		// With credentials, a subscription to another scope's project is refused.
		outsider := jwtCaller(t, unique("live-outsider"), "ui-live-other")
		theirs := outsider.must(201, "POST", "/projects", `{"name":"not yours","scope":"ui-live-other"}`)["id"].(string)
		c, _, err := websocket.Dial(ctx, ws+"?token="+url.QueryEscape(ep.APIKey), wsDial)
		if err != nil {
			t.Fatal(err)
		}
		defer c.CloseNow()
		if err := c.Write(ctx, websocket.MessageText, []byte(fmt.Sprintf(`{"action":"subscribe","project_id":%q}`, theirs))); err != nil {
			t.Fatal(err)
		}
		_, msg, err := c.Read(ctx)
		if err != nil || !strings.Contains(string(msg), `"type":"error"`) || !strings.Contains(string(msg), "no such project") {
			t.Fatalf("subscribe to another scope's project: %s, %v", msg, err)
		}
	})

	t.Run("dropped-socket-reconnects", func(t *testing.T) {
		a.t, b.t = t, t
		db := surrealClient(t, "vapora")
		before := watchers(t, db, project)
		if len(before) != 2 {
			t.Fatalf("%d connections watch the board, want 2: %v", len(before), before)
		}
		// A change no event announces (written behind the API's back) shows
		// only if the pages read the board again when they reconnect.
		quiet := unique("renamed quietly")
		if _, err := surreal.Query[any](context.Background(), db, "UPDATE $id SET title = $t RETURN NONE",
			map[string]any{"id": models.NewRecordID("tasks", moved), "t": quiet}); err != nil {
			t.Fatal(err)
		}
		mgmt, err := vapora.ManagementAPI(context.Background(), base)
		if err != nil {
			t.Fatal(err)
		}
		// The management API closes both sockets, as API Gateway does on
		// DeleteConnection; the pages reconnect and subscribe again.
		for _, id := range before {
			if _, _, err := mgmt.Do(context.Background(), http.MethodDelete, "/@connections/"+url.PathEscape(id), nil, nil); err != nil {
				t.Fatalf("delete connection %s: %v", id, err)
			}
		}
		eventually(t, "two new connections replace the dropped ones", browserWait, func() bool {
			now := watchers(t, db, project)
			return len(now) == 2 && !slices.Contains(now, before[0]) && !slices.Contains(now, before[1])
		})
		a.until("the first page is live again", subscribed)
		b.until("the second page is live again", subscribed)
		for _, p := range []tab{a, b} {
			p.until("the reconnected page read the board again", fmt.Sprintf(`document.querySelector('[data-task-id=%q] .title')?.textContent === %q`, moved, quiet))
		}
		// A post to a dropped connection is 410 Gone.
		_, _, err = mgmt.Do(context.Background(), http.MethodPost, "/@connections/"+url.PathEscape(before[0]), nil, []byte(`{}`))
		var gone *awscfg.APIError
		if !errors.As(err, &gone) || gone.Status != http.StatusGone {
			t.Fatalf("post to a dropped connection: want 410, got %v", err)
		}
		dev.must(200, "PUT", "/tasks/"+later+"/status", `{"status":"Doing"}`)
		b.until("the reconnected page shows a later move", cardIn(later, "Doing"))
	})

	t.Run("gone-connection-is-forgotten", func(t *testing.T) {
		db := surrealClient(t, "vapora")
		stale := "stale-" + unique("conn")
		if _, err := surreal.Query[any](context.Background(), db, "CREATE $id CONTENT $c RETURN NONE", map[string]any{
			"id": models.NewRecordID("live_connections", stale), "c": map[string]any{"subject": "gone", "person": "gone", "scopes": []string{"demo"},
				"projects": []string{project}, "connected_at": time.Now().UTC()}}); err != nil {
			t.Fatal(err)
		}
		dev.must(200, "PUT", "/tasks/"+later+"/status", `{"status":"Review"}`)
		eventually(t, "the push answered 410 forgets the stale connection", browserWait, func() bool {
			return !slices.Contains(watchers(t, db, project), stale)
		})
		b.t = t
		b.until("the live page still follows", cardIn(later, "Review"))
	})
}

// wsDial dials past the suite's OpenAPI check, which reads whole response
// bodies (a socket's never ends) and knows no WebSocket API.
var wsDial = &websocket.DialOptions{HTTPClient: &http.Client{Transport: contract.base}}

// watchers lists the connections watching a project, from SurrealDB.
func watchers(t *testing.T, db *surreal.Client, project string) []string {
	t.Helper()
	ids, err := surreal.Query[[]string](context.Background(), db,
		"SELECT VALUE record::id(id) FROM live_connections WHERE projects CONTAINS $p", map[string]any{"p": project})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}
