package obs

import (
	"context"
	"encoding/json"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Check tells whether one dependency answers.
type Check func(ctx context.Context) error

// Health serves /health/live (the process runs) and /health/ready (every
// dependency answers), naming each dependency and its state.
type Health struct {
	mu     sync.RWMutex
	checks map[string]Check
	// Timeout bounds each check; default 2s.
	Timeout time.Duration
}

// NewHealth returns a Health with no checks.
func NewHealth() *Health { return &Health{checks: map[string]Check{}} }

// Add registers a named dependency check ("surrealdb", "nats").
func (h *Health) Add(name string, c Check) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.checks[name] = c
}

// Report is the body of /health/ready.
type Report struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// Ready runs every check concurrently.
func (h *Health) Ready(ctx context.Context) Report {
	h.mu.RLock()
	names := make([]string, 0, len(h.checks))
	for n := range h.checks {
		names = append(names, n)
	}
	h.mu.RUnlock()
	sort.Strings(names)
	timeout := h.Timeout
	if timeout == 0 {
		timeout = 2 * time.Second
	}
	results := make([]string, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		h.mu.RLock()
		check := h.checks[n]
		h.mu.RUnlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if err := check(cctx); err != nil {
				results[i] = "unavailable: " + err.Error()
				return
			}
			results[i] = "ok"
		}()
	}
	wg.Wait()
	rep := Report{Status: "ok", Checks: map[string]string{}}
	for i, n := range names {
		rep.Checks[n] = results[i]
		if results[i] != "ok" {
			rep.Status = "unavailable"
		}
	}
	return rep
}

// LiveHandler answers 200 while the process serves requests.
func (h *Health) LiveHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// ReadyHandler answers 200 when every dependency answers, else 503 naming which does not.
func (h *Health) ReadyHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rep := h.Ready(r.Context())
		code := http.StatusOK
		if rep.Status != "ok" {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, rep)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
