package main

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/stratumiops/stratumiops/localstack/devstack"
)

// boardSizes are the column sizes at which a board's reads and writes are timed.
var boardSizes = []int{100, 1_000, 10_000}

// benchBoards times, on one Todo column of each size, reading a task, a
// status move, a reorder and a page of 100 tasks: each must cost O(log n)
// or a page's worth, not a column's (targets p99 ≤ 5 ms, page ≤ 10 ms).
// The columns are filled by clients at once; the operations are timed one
// at a time, so that the figures are what an operation costs, not how long
// it queues behind nine others on two cores.
func benchBoards(ep devstack.Endpoints, clients int, d time.Duration) ([]result, error) {
	api := &vaporaClient{base: ep.Gateways["vapora"], key: ep.APIKey, http: keepAliveClient(clients)}
	const timed = 1 // client at a time
	var out []result
	for _, size := range boardSizes {
		project, tasks, err := fillColumn(api, clients, size)
		if err != nil {
			return nil, err
		}
		name := func(op string) string { return fmt.Sprintf("board %d: %s", size, op) }
		if size == boardSizes[0] {
			floor, err := benchFloor(ep, api, project, d)
			if err != nil {
				return nil, err
			}
			out = append(out, floor...)
		}
		read := measureDB(name("read task"), d, timed, func(i int) error {
			return api.do("GET", "/tasks/"+tasks[rand.IntN(size)], nil, nil)
		})
		m := &mover{api: api, tasks: tasks, inDoing: map[string]bool{}, busy: map[string]bool{}}
		moves := measureDB(name("status move"), d, timed, m.move)
		if err := m.settle(); err != nil {
			return nil, err
		}
		reorder := measureDB(name("reorder"), d, timed, func(i int) error {
			return api.do("PUT", "/tasks/"+tasks[rand.IntN(size)]+"/order", map[string]any{"order": rand.IntN(size)}, nil)
		})
		page := measureDB(name("page of 100"), d, timed, func(i int) error {
			return api.do("GET", fmt.Sprintf("/projects/%s/tasks?status=Todo&limit=100&offset=%d", project, rand.IntN(size-99)), nil, nil)
		})
		read.p99Target, moves.p99Target, reorder.p99Target, page.p99Target = 5*time.Millisecond, 5*time.Millisecond, 5*time.Millisecond, 10*time.Millisecond
		out = append(out, read, moves, reorder, page)
	}
	printCPU(out)
	return out, nil
}

// fillColumn creates a project with size tasks in Todo.
func fillColumn(api *vaporaClient, clients, size int) (string, []string, error) {
	var p struct{ ID string }
	if err := api.do("POST", "/projects", map[string]any{"name": fmt.Sprintf("board-%d", size), "scope": "demo"}, &p); err != nil {
		return "", nil, err
	}
	tasks := make([]string, size)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < size; i += clients {
				var t struct{ ID string }
				if err := api.do("POST", "/tasks", map[string]any{"project_id": p.ID, "title": fmt.Sprintf("card %d", i)}, &t); err != nil {
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

// mover moves random tasks Todo → Doing and back, one move per call, never
// one task by two clients at once.
type mover struct {
	api     *vaporaClient
	tasks   []string
	mu      sync.Mutex
	inDoing map[string]bool
	busy    map[string]bool
}

func (m *mover) move(int) error {
	m.mu.Lock()
	task := m.tasks[rand.IntN(len(m.tasks))]
	for m.busy[task] {
		task = m.tasks[rand.IntN(len(m.tasks))]
	}
	m.busy[task] = true
	to := "Doing"
	if m.inDoing[task] {
		to = "Todo"
	}
	m.mu.Unlock()
	err := m.api.do("PUT", "/tasks/"+task+"/status", map[string]any{"status": to}, nil)
	m.mu.Lock()
	delete(m.busy, task)
	if err == nil {
		m.inDoing[task] = to == "Doing"
	}
	m.mu.Unlock()
	return err
}

// settle moves every task still in Doing back to Todo (untimed).
func (m *mover) settle() error {
	for task, doing := range m.inDoing {
		if !doing {
			continue
		}
		if err := m.api.do("PUT", "/tasks/"+task+"/status", map[string]any{"status": "Todo"}, nil); err != nil {
			return fmt.Errorf("settle %s: %w", task, err)
		}
	}
	return nil
}
