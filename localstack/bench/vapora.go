package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
)

const (
	vaporaStatusChanges = 10_000
	vaporaHeartbeats    = 10_000
	vaporaAgents        = 100
)

// benchVapora measures 10 000 task status changes through the gateway (each
// client moves tasks on its own board: Todo ⇄ Doing) and 10 000 heartbeats
// published on NATS until the consumer has applied the last of them.
func benchVapora(ctx context.Context, ep devstack.Endpoints, clients int) ([]result, error) {
	api := &vaporaClient{base: ep.Gateways["vapora"], key: ep.APIKey, http: keepAliveClient(clients)}
	status, err := benchTaskStatus(api, clients)
	if err != nil {
		return nil, err
	}
	hb, err := benchHeartbeats(ctx, api, ep)
	if err != nil {
		return nil, err
	}
	return []result{status, hb}, nil
}

// benchTaskStatus moves tasks between Doing and Todo over HTTP, one board of
// five tasks per client.
func benchTaskStatus(api *vaporaClient, clients int) (result, error) {
	boards := make([][]string, clients)
	for c := range clients {
		var p struct{ ID string }
		if err := api.do("POST", "/projects", map[string]any{"name": fmt.Sprintf("bench-%d", c), "scope": "demo"}, &p); err != nil {
			return result{}, err
		}
		for i := range 5 {
			var t struct{ ID string }
			if err := api.do("POST", "/tasks", map[string]any{"project_id": p.ID, "title": fmt.Sprintf("task %d", i)}, &t); err != nil {
				return result{}, err
			}
			boards[c] = append(boards[c], t.ID)
		}
	}
	per := vaporaStatusChanges / clients
	lat := make([][]time.Duration, clients)
	var errs atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				task := boards[c][i%len(boards[c])]
				status := "Doing"
				if (i/len(boards[c]))%2 == 1 {
					status = "Todo"
				}
				t := time.Now()
				if err := api.do("PUT", "/tasks/"+task+"/status", map[string]any{"status": status}, nil); err != nil {
					errs.Add(1)
				}
				lat[c] = append(lat[c], time.Since(t))
			}
		}()
	}
	wg.Wait()
	status := summarize("vapora task status (HTTP)", lat, time.Since(start), errs.Load())
	status.target = 1000
	return status, nil
}

// benchHeartbeats publishes heartbeats of vaporaAgents agents on NATS and
// waits until the consumer has applied the last of each.
func benchHeartbeats(ctx context.Context, api *vaporaClient, ep devstack.Endpoints) (result, error) {
	b, err := bus.Connect(ctx, ep.NATS, "bench", nil)
	if err != nil {
		return result{}, err
	}
	defer b.Close()
	run := time.Now().UnixNano()
	agents := make([]string, vaporaAgents)
	for i := range agents {
		agents[i] = fmt.Sprintf("bench-%d-%d", run, i)
		if err := api.do("POST", "/agents/register", map[string]any{"agent_id": agents[i], "role": "Monitor"}, nil); err != nil {
			return result{}, err
		}
	}
	// The last heartbeat of each agent reports load 0.5: when every agent
	// shows it, the consumer has applied all of them (older ones cannot
	// overwrite a newer one).
	start := time.Now()
	for i := range vaporaHeartbeats {
		agent := agents[i%vaporaAgents]
		load := 0.1
		if i >= vaporaHeartbeats-vaporaAgents {
			load = 0.5
		}
		hb := events.Heartbeat{ID: fmt.Sprintf("hb-%d-%d", run, i), AgentID: agent, Status: "Ready", CurrentLoad: load}
		if _, err := b.Publish(ctx, events.SubjectAgentHeartbeat, hb.ID, hb, nil); err != nil {
			return result{}, err
		}
	}
	published := time.Since(start)
	if err := waitHeartbeats(api); err != nil {
		return result{}, err
	}
	hb := result{name: "vapora heartbeats (NATS)", ops: vaporaHeartbeats, elapsed: time.Since(start), target: 3000}
	fmt.Printf("(heartbeats: published in %s, all applied after %s)\n", published.Round(time.Millisecond), hb.elapsed.Round(time.Millisecond))
	return hb, nil
}

// waitHeartbeats waits until every bench agent shows load 0.5.
func waitHeartbeats(api *vaporaClient) error {
	for deadline := time.Now().Add(5 * time.Minute); ; {
		var list struct {
			Agents []struct {
				ID          string
				CurrentLoad float64 `json:"current_load"`
			}
		}
		if err := api.do("GET", "/agents?role=Monitor", nil, &list); err != nil {
			return err
		}
		done := 0
		for _, a := range list.Agents {
			if a.CurrentLoad == 0.5 {
				done++
			}
		}
		if done >= vaporaAgents {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("heartbeats: only %d of %d agents caught up", done, vaporaAgents)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func summarize(name string, lat [][]time.Duration, elapsed time.Duration, errs int64) result {
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	r := result{name: name, ops: int64(len(all)), errors: errs, elapsed: elapsed}
	sortDurations(all)
	if len(all) > 0 {
		r.p50, r.p99 = all[len(all)/2], all[len(all)*99/100]
	}
	return r
}

// vaporaClient calls the Vapora gateway with the devstack's API key.
type vaporaClient struct {
	base, key string
	http      *http.Client
}

func (v *vaporaClient) do(method, path string, body, out any) error {
	var rd *bytes.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, v.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("X-API-Key", v.key)
	res, err := v.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d", method, path, res.StatusCode)
	}
	if out != nil {
		return json.NewDecoder(res.Body).Decode(out)
	}
	return nil
}
