package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/stratumiops/stratumiops/shared/platform/cuecontract"
	"github.com/stratumiops/stratumiops/shared/provisioning"
	"github.com/stratumiops/stratumiops/shared/provisioning/contract"
	"github.com/stratumiops/stratumiops/shared/provisioning/local"
)

// provClient is the Provisioning API as the CLI reaches it.
type provClient struct {
	base, key string
	format    string
}

// provCommand is `stratum prov`: Provisioning workflows from the shell, over its API.
func provCommand() *cobra.Command {
	c := &provClient{}
	var apiURL string
	cmd := &cobra.Command{Use: "prov", Short: "Provisioning: submit, watch, cancel and resume infrastructure workflows; plan them",
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Name() == "local-server" {
				return nil
			}
			if c.format != "table" && c.format != "json" {
				return usageError(cmd, fmt.Errorf("--format %q: want table or json", c.format))
			}
			var err error
			c.base, c.key, err = provEndpoint(apiURL, c.key)
			if err != nil {
				return usageError(cmd, err)
			}
			return nil
		}}
	cmd.PersistentFlags().StringVar(&apiURL, "url", "", "Provisioning API URL (default $PROVISIONING_URL, else http://127.0.0.1:8404)")
	cmd.PersistentFlags().StringVar(&c.key, "api-key", "", "API key sent as X-API-Key (default $PROVISIONING_API_KEY, else the devstack's key on loopback)")
	cmd.PersistentFlags().StringVar(&c.format, "format", "table", "output format: table or json")
	wf := &cobra.Command{Use: "workflow", Short: "Workflows: submit, status, list, cancel, resume"}
	wf.AddCommand(c.submitCommand(), c.statusCommand(), c.listCommand(), c.actionCommand("cancel"), c.actionCommand("resume"))
	cmd.AddCommand(wf, c.planCommand(), localServerCommand())
	return cmd
}

func provEndpoint(apiURL, apiKey string) (string, string, error) {
	return apiEndpoint("provisioning", apiURL, apiKey)
}

// readWorkflowFile reads a workflow document in YAML or JSON as JSON.
func readWorkflowFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if ext := strings.ToLower(filepath.Ext(path)); ext == ".json" {
		return raw, nil
	}
	var doc any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return json.Marshal(doc)
}

// checkedWorkflow reads a workflow file and checks it against the CUE
// contract before anything is sent, naming each violation by its path.
func checkedWorkflow(path string) ([]byte, error) {
	body, err := readWorkflowFile(path)
	if err != nil {
		return nil, err
	}
	err = contract.Check(body)
	var ce *cuecontract.Error
	if errors.As(err, &ce) {
		lines := make([]string, len(ce.Violations))
		for i, v := range ce.Violations {
			lines[i] = "  " + v.Path + ": " + v.Message
		}
		return nil, fmt.Errorf("%s breaks the workflow contract (%s):\n%s", path, contract.Name, strings.Join(lines, "\n"))
	}
	return body, err
}

// call sends a request and decodes a 2xx answer into out; any other answer
// is an error with the API's message.
func (c *provClient) call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.key != "" {
		req.Header.Set("X-API-Key", c.key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("provisioning API unreachable: %w", err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if res.StatusCode/100 != 2 {
		var e struct {
			Error   struct{ Message string } `json:"error"`
			Message string                   `json:"message"`
		}
		_ = json.Unmarshal(raw, &e)
		msg := e.Error.Message + e.Message
		if msg == "" {
			msg = strings.TrimSpace(string(raw))
		}
		return fmt.Errorf("%s %s: %d: %s", method, path, res.StatusCode, msg)
	}
	return json.Unmarshal(raw, out)
}

func (c *provClient) submitCommand() *cobra.Command {
	var dry, wait bool
	cmd := &cobra.Command{Use: "submit <file.yaml|json>", Short: "Submit a workflow (--dry-run: plan only; --wait: follow its tasks to the end)",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if dry {
				return c.plan(cmd, args[0])
			}
			body, err := checkedWorkflow(args[0])
			if err != nil {
				return err
			}
			var res provisioning.SubmitResponse
			if err := c.call(cmd.Context(), "POST", "/workflows", body, &res); err != nil || res.Workflow == nil {
				return errors.Join(err, errors.New("no workflow in the answer"))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "workflow %s: %s\n", res.Workflow.ID, res.Workflow.Status)
			if !wait {
				return nil
			}
			return c.follow(cmd, res.Workflow.ID)
		}}
	cmd.Flags().BoolVar(&dry, "dry-run", false, "print the plan (order, parallel waves, cost); submit nothing")
	cmd.Flags().BoolVar(&wait, "wait", false, "show each task's progress until the workflow ends; exit 1 unless it succeeded")
	return cmd
}

// follow prints each task's state changes until the workflow ends.
func (c *provClient) follow(cmd *cobra.Command, id string) error {
	seen := map[string]string{}
	for {
		var w provisioning.WorkflowState
		if err := c.call(cmd.Context(), "GET", "/workflows/"+url.PathEscape(id), nil, &w); err != nil {
			return err
		}
		for _, t := range w.Tasks {
			now := fmt.Sprintf("%s (attempt %d/%d)", t.State, t.Attempt, t.MaxAttempts)
			if seen[t.Task] != now {
				seen[t.Task] = now
				line := fmt.Sprintf("%s  %-12s %-8s %s", time.Now().Format("15:04:05.000"), t.Task, t.Kind, now)
				if t.Error != nil && t.State != provisioning.TaskSucceeded {
					line += "  " + *t.Error
				}
				fmt.Fprintln(cmd.OutOrStdout(), line)
			}
		}
		switch w.Status {
		case provisioning.StatusSucceeded:
			fmt.Fprintf(cmd.OutOrStdout(), "workflow %s: %s\n", id, w.Status)
			return nil
		case provisioning.StatusRolledBack, provisioning.StatusRollbackFailed:
			fmt.Fprintf(cmd.OutOrStdout(), "workflow %s: %s: %s\n", id, w.Status, deref(w.Error))
			if len(w.Left) > 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "left: %s\n", strings.Join(w.Left, ", "))
			}
			return exitCodeError{code: 1}
		}
		select {
		case <-cmd.Context().Done():
			return cmd.Context().Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (c *provClient) planCommand() *cobra.Command {
	return &cobra.Command{Use: "plan <file.yaml|json>", Short: "Plan a workflow: order, parallel waves, cost estimate; nothing is made",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return c.plan(cmd, args[0]) }}
}

func (c *provClient) plan(cmd *cobra.Command, file string) error {
	body, err := checkedWorkflow(file)
	if err != nil {
		return err
	}
	var res provisioning.SubmitResponse
	if err := c.call(cmd.Context(), "POST", "/workflows?dry_run=true", body, &res); err != nil {
		return err
	}
	if c.format == "json" || res.Plan == nil {
		return printJSON(cmd.OutOrStdout(), res.Plan)
	}
	p := res.Plan
	fmt.Fprintf(cmd.OutOrStdout(), "workflow %s (%s), up to %d tasks at once\n\n", p.Workflow, p.Environment, p.MaxParallel)
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WAVE\tTASK\tKIND\tPROVIDER\tDEPENDS ON\tATTEMPTS\tUSD/MONTH")
	for _, t := range p.Tasks {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%.2f\n", t.Wave+1, t.ID, t.Kind, t.Provider, strings.Join(t.DependsOn, ","), t.MaxAttempts, t.MonthlyCostUSD)
	}
	_ = tw.Flush()
	fmt.Fprintf(cmd.OutOrStdout(), "\norder: %s\nestimated cost: %.2f USD/month\n", strings.Join(p.Order, " → "), p.MonthlyCostUSD)
	return nil
}

func (c *provClient) statusCommand() *cobra.Command {
	return &cobra.Command{Use: "status <workflow-id>", Short: "A workflow's tasks: state, attempts, timings, resources", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var w provisioning.WorkflowState
			if err := c.call(cmd.Context(), "GET", "/workflows/"+url.PathEscape(args[0]), nil, &w); err != nil {
				return err
			}
			return c.printWorkflow(cmd.OutOrStdout(), w)
		}}
}

func (c *provClient) printWorkflow(out io.Writer, w provisioning.WorkflowState) error {
	if c.format == "json" {
		return printJSON(out, w)
	}
	fmt.Fprintf(out, "workflow %s %q (%s): %s, run %d\n", w.ID, w.Name, w.Environment, w.Status, w.Run)
	if w.Error != nil {
		fmt.Fprintf(out, "error: %s\n", *w.Error)
	}
	if len(w.Left) > 0 {
		fmt.Fprintf(out, "left: %s\n", strings.Join(w.Left, ", "))
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nTASK\tKIND\tPROVIDER\tSTATE\tATTEMPT\tSTARTED\tFINISHED\tRESOURCE")
	ts := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.Local().Format("15:04:05.000")
	}
	for _, t := range w.Tasks {
		res := "-"
		if t.Resource != nil {
			res = t.Resource.ID
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\n", t.Task, t.Kind, t.Provider, t.State, t.Attempt, t.MaxAttempts,
			ts(t.StartedAt), ts(t.FinishedAt), res)
	}
	return tw.Flush()
}

func (c *provClient) listCommand() *cobra.Command {
	var status string
	cmd := &cobra.Command{Use: "list", Short: "List workflows, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var l provisioning.WorkflowList
			if err := c.call(cmd.Context(), "GET", "/workflows?status="+url.QueryEscape(status), nil, &l); err != nil {
				return err
			}
			if c.format == "json" {
				return printJSON(cmd.OutOrStdout(), l)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tENVIRONMENT\tSTATUS\tCREATED")
			for _, w := range l.Workflows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", w.ID, w.Name, w.Environment, w.Status, w.CreatedAt.Local().Format(time.DateTime))
			}
			return tw.Flush()
		}}
	cmd.Flags().StringVar(&status, "status", "", "only workflows with this status")
	return cmd
}

func (c *provClient) actionCommand(action string) *cobra.Command {
	short := map[string]string{"cancel": "Cancel a workflow: running steps finish, then what was made is rolled back",
		"resume": "Resume a rolled-back workflow from its failed step"}[action]
	return &cobra.Command{Use: action + " <workflow-id>", Short: short, Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var w provisioning.WorkflowState
			if err := c.call(cmd.Context(), "POST", "/workflows/"+url.PathEscape(args[0])+"/"+action, nil, &w); err != nil {
				return err
			}
			return c.printWorkflow(cmd.OutOrStdout(), w)
		}}
}

// localServerCommand is the process a local-provider server or service runs.
func localServerCommand() *cobra.Command {
	var dir string
	var port int
	cmd := &cobra.Command{Use: "local-server", Short: "The HTTP service of a local-provider server (started by the orchestrator)", Hidden: true,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return local.Serve(ctx, dir, port)
		}}
	cmd.Flags().StringVar(&dir, "dir", "", "data directory")
	cmd.Flags().IntVar(&port, "port", 0, "port on 127.0.0.1")
	_ = cmd.MarkFlagRequired("dir")
	_ = cmd.MarkFlagRequired("port")
	return cmd
}
