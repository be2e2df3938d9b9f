package runner

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stratumiops/stratumiops/shared/platform/obs"
	"github.com/stratumiops/stratumiops/shared/vapora"
)

// Knowledge is what Kogral knows that bears on a task, found by its type
// and title: the guidelines of the task's graph (its scope's) and of the
// shared graph, and the graph's patterns and decisions.
type Knowledge struct {
	Guidelines, Patterns, Decisions []vapora.KnowledgeHit
}

const (
	// knowledgeWait bounds the searches: a task runs without Kogral's
	// knowledge rather than wait for a slow or absent Kogral.
	knowledgeWait = 5 * time.Second
	// knowledgeHits is how many nodes of each kind a prompt gets.
	knowledgeHits = 3
	// knowledgeChars bounds each node's content in the prompt.
	knowledgeChars = 2000
)

// knowledge asks Kogral, in parallel, for each kind of node about the
// task; a search that fails is logged and left out, never fails the task.
func (r *Runner) knowledge(ctx context.Context, t vapora.Task, taskType string) Knowledge {
	if r.kogral == nil || t.Scope == "" {
		return Knowledge{}
	}
	ctx, cancel := context.WithTimeout(ctx, knowledgeWait)
	defer cancel()
	query := taskType + " " + t.Title
	searches := []struct{ nodeType, graph string }{
		{"Guideline", t.Scope}, {"Guideline", "shared"}, {"Pattern", t.Scope}, {"Decision", t.Scope},
	}
	found := make([][]vapora.KnowledgeHit, len(searches))
	var wg sync.WaitGroup
	for i, s := range searches {
		wg.Go(func() {
			hits, err := r.kogral.SearchContent(ctx, query, s.nodeType, s.graph, knowledgeHits)
			if err != nil {
				obs.Log(ctx).Warn("Kogral's knowledge left out of a prompt", "task_id", t.ID, "type", s.nodeType,
					"graph", s.graph, "err", err)
			}
			found[i] = hits
		})
	}
	wg.Wait()
	guidelines := append(found[0], found[1]...)
	return Knowledge{Guidelines: guidelines[:min(len(guidelines), knowledgeHits)], Patterns: found[2], Decisions: found[3]}
}

func (k Knowledge) empty() bool {
	return len(k.Guidelines)+len(k.Patterns)+len(k.Decisions) == 0
}

// write appends the knowledge to a prompt, each kind under its heading,
// each node's content cut at knowledgeChars.
func (k Knowledge) write(b *strings.Builder) {
	for _, kind := range []struct {
		heading string
		hits    []vapora.KnowledgeHit
	}{{"Guidelines", k.Guidelines}, {"Decisions", k.Decisions}, {"Patterns", k.Patterns}} {
		if len(kind.hits) == 0 {
			continue
		}
		fmt.Fprintf(b, "\n## %s (from the team's knowledge base)\n", kind.heading)
		for _, h := range kind.hits {
			content := strings.TrimSpace(h.Content)
			if len(content) > knowledgeChars {
				content = strings.ToValidUTF8(content[:knowledgeChars], "") + " […]"
			}
			fmt.Fprintf(b, "\n### %s\n%s\n", h.Title, content)
		}
	}
}
