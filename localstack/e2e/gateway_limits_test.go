package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// An answer over Lambda's 6 MB response limit reaches the client as API
// Gateway answers it, 500 {"message":"Internal Server Error"}, and the
// devstack logs Function.ResponseSizeTooLarge, as AWS would fail it: here
// Kogral's node list (not bounded in bytes) of seven nodes of about 1 MB.
func TestGatewayRefusesAnAnswerOverLambdasLimit(t *testing.T) {
	base := ep.Gateways["kogral"]
	if base == "" || ep.APIKey == "" {
		t.Skip("no kogral gateway with devstack credentials")
	}
	graph := "demo." + strings.ToLower(unique("size"))
	// Not through the OpenAPI check: the gateway's 500 is no operation's answer.
	client := &http.Client{Transport: &http.Transport{}}
	do := func(method, url, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx(t), method, url, strings.NewReader(body))
		req.Header.Set("X-API-Key", ep.APIKey)
		req.Header.Set("Content-Type", "application/json")
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, raw
	}
	content := strings.Repeat("large content ", 1_000_000/14)
	for i := range 7 {
		in, _ := json.Marshal(map[string]any{"node_type": "note", "title": fmt.Sprintf("Large %d %s", i, graph),
			"content": content, "graph_id": graph})
		status, raw := do("POST", base+"/nodes", string(in))
		if status != http.StatusCreated {
			t.Fatalf("create node %d: %d %.300s", i, status, raw)
		}
		var n struct{ ID string }
		_ = json.Unmarshal(raw, &n)
		t.Cleanup(func() { // other tests export every graph they read
			if status, raw := do("DELETE", base+"/nodes/"+n.ID, ""); status != http.StatusNoContent {
				t.Errorf("delete node %s: %d %.300s", n.ID, status, raw)
			}
		})
	}
	if status, raw := do("GET", base+"/nodes?limit=2&graph="+graph, ""); status != http.StatusOK {
		t.Fatalf("a small list: %d %.300s", status, raw)
	}
	status, raw := do("GET", base+"/nodes?limit=7&graph="+graph, "")
	if status != http.StatusInternalServerError || strings.TrimSpace(string(raw)) != `{"message":"Internal Server Error"}` {
		t.Fatalf("seven nodes of 1 MB: %d, %d bytes %.200s", status, len(raw), raw)
	}
	if dev != nil {
		log, _ := os.ReadFile(dev.logFile())
		if !strings.Contains(string(log), "ResponseSizeTooLarge") {
			t.Fatal("the devstack did not log Function.ResponseSizeTooLarge")
		}
	}
}
