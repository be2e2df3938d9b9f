package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/vapora"
)

// Exit codes of `stratum vapora check`.
const (
	exitBoardBroken = 1 // problems found (and, with --repair, repaired)
	exitUsage       = 2 // bad arguments or flags
	exitCannotCheck = 3 // the API could not be asked (unreachable, unknown project, no access)
)

// vaporaCommand is `stratum vapora`: Vapora from the shell, over its API.
func vaporaCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "vapora", Short: "Vapora agent orchestration: board integrity check"}
	cmd.AddCommand(vaporaCheckCommand())
	return cmd
}

func vaporaCheckCommand() *cobra.Command {
	var apiURL, apiKey, format string
	var repair bool
	cmd := &cobra.Command{
		Use:   "check <project-id>",
		Short: "Check a project's Kanban board (and repair it with --repair)",
		Long: `Checks one project's board: every card in exactly one column, each column's
orders exactly 0..n-1, and the rank index (project, status, rank) agreeing with
the task records. Each problem is listed with its task, kind and column(s):
  misplaced        the index lists the card in a column its record does not hold
  unindexed        the index misses the card in its column
  duplicate_entry  the index lists the card twice in one column
  rank_clash       two cards of one column stand on one rank
  order            the card's order is not its place in its column
With --repair, each broken column is re-ranked from the records in one
transaction (keeping their order), and the index is rebuilt if stale entries
remain; the report shows what was found, what was done and what is left.

The API is --url, else $VAPORA_URL, else the devstack's http://127.0.0.1:8401;
the key is --api-key, else $VAPORA_API_KEY, else the devstack's development key
for a loopback URL.

Exit status: 0 the board is clean; 1 problems were found (and, with --repair,
repaired); 2 usage error; 3 the check could not run (API unreachable, unknown
project, no access).`,
		Example: "  stratum vapora check prj_5c1e07aa\n  stratum vapora check prj_5c1e07aa --repair --format json",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || strings.TrimSpace(args[0]) == "" {
				return usageError(cmd, fmt.Errorf("want exactly one project id, got %d arguments", len(args)))
			}
			if format != "table" && format != "json" {
				return usageError(cmd, fmt.Errorf("--format %q: want table or json", format))
			}
			base, key, err := vaporaEndpoint(apiURL, apiKey)
			if err != nil {
				return usageError(cmd, err)
			}
			return runBoardCheck(cmd, base, key, args[0], repair, format)
		},
	}
	cmd.Flags().BoolVar(&repair, "repair", false, "repair a broken board, then report")
	cmd.Flags().StringVar(&apiURL, "url", "", "Vapora API URL (default $VAPORA_URL, else http://127.0.0.1:8401)")
	cmd.Flags().StringVar(&apiKey, "api-key", "", "API key sent as X-API-Key (default $VAPORA_API_KEY, else the devstack's key on loopback)")
	cmd.Flags().StringVar(&format, "format", "table", "output format: table or json")
	cmd.SetFlagErrorFunc(usageError)
	return cmd
}

// usageError prints a usage problem and exits 2.
func usageError(cmd *cobra.Command, err error) error {
	fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\nRun '%s --help' for usage.\n", cmd.CommandPath(), err, cmd.CommandPath())
	return exitCodeError{code: exitUsage}
}

// vaporaEndpoint resolves Vapora's API URL and key (see apiEndpoint).
func vaporaEndpoint(apiURL, apiKey string) (string, string, error) {
	return apiEndpoint("vapora", apiURL, apiKey)
}

// apiEndpoint resolves a system's API URL and key: the flags, then
// <SYSTEM>_URL and <SYSTEM>_API_KEY, then the devstack's gateway port and,
// for a local URL, its dev key.
func apiEndpoint(system, apiURL, apiKey string) (string, string, error) {
	env := strings.ToUpper(system)
	example := "http://127.0.0.1:" + strconv.Itoa(devPort(system))
	if apiURL == "" {
		apiURL = os.Getenv(env + "_URL")
	}
	if apiURL == "" {
		apiURL = example
	}
	u, err := url.Parse(apiURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("--url %q: want an http(s) URL such as %s", apiURL, example)
	}
	if apiKey == "" {
		apiKey = os.Getenv(env + "_API_KEY")
	}
	if apiKey == "" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost") {
		apiKey = devstack.DevAPIKey
	}
	return strings.TrimSuffix(apiURL, "/"), apiKey, nil
}

func devPort(system string) int {
	for _, s := range catalog.Systems {
		if s.Name == system {
			return s.DevPort
		}
	}
	return 0
}

// runBoardCheck asks the API and prints the report; its exit code says the verdict.
func runBoardCheck(cmd *cobra.Command, base, key, project string, repair bool, format string) error {
	method, path := http.MethodGet, "/projects/"+url.PathEscape(project)+"/integrity"
	if repair {
		method, path = http.MethodPost, path+"/repair"
	}
	var before, after vapora.BoardReport
	var res vapora.BoardRepair
	raw, err := vaporaCall(cmd.Context(), method, base+path, key)
	if err == nil && repair {
		err = json.Unmarshal(raw, &res)
		before, after = res.Before, res.After
	} else if err == nil {
		err = json.Unmarshal(raw, &before)
		after = before
	}
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "stratum vapora check: %v\n", err)
		return exitCodeError{code: exitCannotCheck}
	}
	out := cmd.OutOrStdout()
	if format == "json" {
		_, _ = out.Write(raw)
	} else {
		printBoardReport(out, before)
		if repair {
			printRepair(out, res)
		}
	}
	if !before.Clean || !after.Clean {
		return exitCodeError{code: exitBoardBroken}
	}
	return nil
}

// vaporaCall sends one request and returns the body of a 200.
func vaporaCall(ctx context.Context, method, target, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, err
	}
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("vapora API: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, fmt.Errorf("vapora API: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		_ = json.Unmarshal(raw, &e)
		return nil, errors.New(strings.TrimSpace(fmt.Sprintf("%s %s: %s %s", method, target, resp.Status, e.Error.Message)))
	}
	return raw, nil
}

func printBoardReport(w io.Writer, rep vapora.BoardReport) {
	var cols []string
	for _, s := range vapora.TaskStatuses {
		cols = append(cols, fmt.Sprintf("%s %d", s, rep.Columns[s]))
	}
	fmt.Fprintf(w, "Project %s: %d tasks (%s)\n", rep.ProjectID, rep.Tasks, strings.Join(cols, ", "))
	if rep.IndexError != "" {
		fmt.Fprintf(w, "Rank index: build %s: %s\n", rep.IndexStatus, rep.IndexError)
	}
	if rep.Clean {
		fmt.Fprintln(w, "Board: clean")
		return
	}
	fmt.Fprintf(w, "Board: %d problems\n", len(rep.Problems))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tKIND\tCOLUMNS\tDETAIL")
	for _, p := range rep.Problems {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.TaskID, p.Kind, strings.Join(p.Columns, ","), p.Detail)
	}
	_ = tw.Flush()
}

func printRepair(w io.Writer, res vapora.BoardRepair) {
	if res.Before.Clean {
		return
	}
	fmt.Fprintf(w, "Repair: re-ranked columns [%s], index rebuilt: %v, %d attempt(s)\n",
		strings.Join(res.Reranked, ", "), res.RebuiltIndex, res.Attempts)
	if res.After.Clean {
		fmt.Fprintln(w, "After repair: clean")
		return
	}
	fmt.Fprintln(w, "After repair: still broken")
	printBoardReport(w, res.After)
}
