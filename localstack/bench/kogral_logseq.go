package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The Logseq graph that issue 25 times through the CLI: 5 000 pages and
// 2 000 journals holding 20 000 links between distinct pairs of them, so that
// the import stores 7 000 nodes and 20 000 edges (no placeholder pages).
const (
	logseqPages    = 5_000
	logseqJournals = 2_000
	logseqLinks    = 20_000
)

// logseqTopics and logseqTasks make pages read like a team's notes, so that
// the questions below find pages that answer them.
var (
	logseqTopics = []string{"Template", "Deploy Checklist", "Vault Token", "Queue Retry Policy", "Backup Restore", "Billing Service",
		"Release Plan", "Storage Engine", "Incident Review", "Onboarding Guide", "API Gateway", "Cache Invalidation"}
	logseqTasks = []string{"To create a %s, open the page and add a block with its properties.",
		"The %s is reviewed every quarter by the platform team.",
		"We chose this %s after comparing three options; see the linked notes.",
		"When the %s fails, page the on-call engineer and follow the runbook.",
		"How to rotate the %s: generate a new one, deploy it, then revoke the old one.",
		"The owner of the %s keeps its checklist up to date."}
	// logseqQuestions are what people type (issue 25): text search drops
	// their stopwords and ranks pages holding every remaining word first.
	logseqQuestions = []string{"how do I create a template", "where is the deploy checklist", "how do I rotate the vault token",
		"what is the retry policy for the queue", "how to restore a backup", "who owns the billing service",
		"when is the next release planned", "why did we choose this storage engine", "what happened in the incident review",
		"how does onboarding work for new engineers"}
)

func logseqPageName(i int) string {
	return fmt.Sprintf("%s %d", logseqTopics[i%len(logseqTopics)], i)
}

// writeLogseqGraph writes the graph under dir (pages/ and journals/).
func writeLogseqGraph(dir string, rng *rand.Rand) error {
	for _, sub := range []string{"pages", "journals"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return err
		}
	}
	// Each page or journal links to distinct pages other than itself; the
	// links are spread evenly, the first ones taking one more.
	files := logseqPages + logseqJournals
	day := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for f := range files {
		links := logseqLinks / files
		if f < logseqLinks%files {
			links++
		}
		targets := map[int]bool{}
		for len(targets) < links {
			if t := rng.IntN(logseqPages); t != f {
				targets[t] = true
			}
		}
		var b strings.Builder
		topic := strings.ToLower(logseqTopics[f%len(logseqTopics)])
		for t := range targets {
			fmt.Fprintf(&b, "- "+logseqTasks[rng.IntN(len(logseqTasks))]+" Related: [[%s]]\n", topic, logseqPageName(t))
			fmt.Fprintf(&b, "\t- "+logseqTasks[rng.IntN(len(logseqTasks))]+"\n", topic)
		}
		path := filepath.Join(dir, "pages", logseqPageName(f)+".md")
		if f >= logseqPages {
			path = filepath.Join(dir, "journals", day.AddDate(0, 0, f-logseqPages).Format("2006_01_02")+".md")
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// buildStratum builds the CLI into dir (not timed).
func buildStratum(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "stratum")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/stratum")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build stratum: %v\n%s", err, out)
	}
	return bin, nil
}

// cliImport times `stratum kogral import` of a generated Logseq graph into
// graph, end to end: the process reads the folder, parses every page and
// sends the batches to kogral-api. The rate is the nodes it reports stored.
func cliImport(ctx context.Context, gateway, apiKey, graph string) (result, error) {
	dir, err := os.MkdirTemp("", "kogral-logseq-")
	if err != nil {
		return result{}, err
	}
	defer os.RemoveAll(dir)
	if err := writeLogseqGraph(filepath.Join(dir, "graph"), rand.New(rand.NewPCG(3, 4))); err != nil {
		return result{}, err
	}
	bin, err := buildStratum(ctx, dir)
	if err != nil {
		return result{}, err
	}
	cmd := exec.CommandContext(ctx, bin, "kogral", "import", filepath.Join(dir, "graph"), "--api", gateway, "--graph", graph, "--dir", dir)
	cmd.Env = append(os.Environ(), "KOGRAL_API_KEY="+apiKey)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	elapsed := time.Since(start)
	if err != nil {
		return result{}, fmt.Errorf("stratum kogral import: %v\n%s%s", err, out, stderr.String())
	}
	var nodes, edges int
	if _, err := fmt.Sscanf(string(out), "Imported %d nodes and %d edges", &nodes, &edges); err != nil {
		return result{}, fmt.Errorf("stratum kogral import said %q: %w", out, err)
	}
	if nodes != logseqPages+logseqJournals || edges != logseqLinks {
		return result{}, fmt.Errorf("stratum kogral import stored %d nodes and %d edges, want %d and %d:\n%s",
			nodes, edges, logseqPages+logseqJournals, logseqLinks, stderr.String())
	}
	fmt.Printf("(kogral: CLI import of %d pages, %d journals, %d links in %s)\n", logseqPages, logseqJournals, logseqLinks,
		elapsed.Round(time.Millisecond))
	return result{name: "kogral CLI Logseq import", ops: int64(nodes), elapsed: elapsed, target: 2000}, nil
}
