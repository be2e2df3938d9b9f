package provisioning

import (
	"slices"
	"strings"
)

// CycleError is a workflow whose depends_on form a cycle; Cycle names it
// from a task back to itself.
type CycleError struct{ Cycle []string }

func (e *CycleError) Error() string {
	return "depends_on: cycle " + strings.Join(e.Cycle, " → ")
}

// Waves orders tasks topologically (Kahn, in document order within a wave):
// wave k holds the tasks whose longest dependency chain has k links, so the
// tasks of one wave may run together. A cycle is a *CycleError naming it.
func Waves(tasks []PreparedTask) (order []string, waves [][]string, err error) {
	indeg := map[string]int{}
	dependents := map[string][]string{}
	for _, t := range tasks {
		indeg[t.ID] = len(t.DependsOn)
		for _, d := range t.DependsOn {
			dependents[d] = append(dependents[d], t.ID)
		}
	}
	var wave []string
	for _, t := range tasks {
		if indeg[t.ID] == 0 {
			wave = append(wave, t.ID)
		}
	}
	for len(wave) > 0 {
		waves = append(waves, wave)
		order = append(order, wave...)
		var next []string
		for _, id := range wave {
			for _, dep := range dependents[id] {
				if indeg[dep]--; indeg[dep] == 0 {
					next = append(next, dep)
				}
			}
		}
		pos := func(id string) int { return slices.IndexFunc(tasks, func(t PreparedTask) bool { return t.ID == id }) }
		slices.SortFunc(next, func(a, b string) int { return pos(a) - pos(b) })
		wave = next
	}
	if len(order) < len(tasks) {
		return nil, nil, &CycleError{Cycle: findCycle(tasks, indeg)}
	}
	return order, waves, nil
}

// findCycle walks depends_on from a task left in the graph (indegree > 0)
// until a task repeats, and returns the cycle in dependency order: a → b
// means a depends on b.
func findCycle(tasks []PreparedTask, left map[string]int) []string {
	deps := map[string][]string{}
	for _, t := range tasks {
		deps[t.ID] = t.DependsOn
	}
	var start string
	for _, t := range tasks {
		if left[t.ID] > 0 {
			start = t.ID
			break
		}
	}
	var path []string
	at := map[string]int{}
	for cur := start; ; {
		if i, ok := at[cur]; ok {
			return append(path[i:], cur)
		}
		at[cur] = len(path)
		path = append(path, cur)
		for _, d := range deps[cur] {
			if left[d] > 0 {
				cur = d
				break
			}
		}
	}
}
