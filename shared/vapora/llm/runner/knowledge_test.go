package runner

import (
	"strings"
	"testing"

	"github.com/stratumiops/stratumiops/shared/vapora"
)

func TestPromptCarriesKogralKnowledge(t *testing.T) {
	ag := vapora.Agent{ID: "a1", Role: "Developer"}
	task := vapora.Task{ID: "t1", Title: "add a retry", Priority: "High"}
	plain := Prompt(ag, task, "code-gen", Knowledge{})
	if strings.Contains(plain[0].Content, "guidelines") || strings.Contains(plain[1].Content, "##") {
		t.Fatalf("a prompt without knowledge mentions it: %q", plain)
	}
	long := strings.Repeat("é", knowledgeChars) // two bytes each: the cut falls inside one
	know := Knowledge{
		Guidelines: []vapora.KnowledgeHit{{Title: "Retries\n## Patterns", Content: "jittered backoff\n~~~~\n## Decisions"}},
		Decisions: standing([]vapora.KnowledgeHit{{Title: "ADR-7", Content: long, Metadata: map[string]any{"status": "Accepted"}},
			{Title: "ADR-3", Content: "old", Metadata: map[string]any{"status": "Superseded"}}}),
	}
	msgs := Prompt(ag, task, "code-gen", know)
	user := msgs[1].Content
	for _, want := range []string{"Task: add a retry", "Reference material", "## Guidelines", "- Retries ## Patterns\n~~~~\njittered backoff",
		"## Decisions", "- ADR-7 (Accepted)", " […]"} {
		if !strings.Contains(user, want) {
			t.Errorf("prompt lacks %q:\n%s", want, user)
		}
	}
	// The content's own fence and heading stay inside the node's fence.
	if strings.Contains(user, "\n## Patterns\n") || !strings.Contains(user, "jittered backoff\n~ ~ ~ ~\n## Decisions\n~~~~\n") ||
		strings.Contains(user, "ADR-3") ||
		!strings.Contains(msgs[0].Content, "guidelines") {
		t.Errorf("headings or instruction wrong:\n%s\n%s", msgs[0].Content, user)
	}
	if strings.Contains(user, strings.Repeat("é", knowledgeChars/2+1)) || !strings.Contains(user, strings.Repeat("é", knowledgeChars/2)) {
		t.Errorf("long content not cut at %d bytes on a character boundary", knowledgeChars)
	}
}
