package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/stratumiops/stratumiops/shared/kogral"
)

// ExportStatus is an export job as kogral-api reports it (GET /exports/{job}).
type ExportStatus struct {
	ID     string `json:"id"`
	Graph  string `json:"graph"`
	Format string `json:"format"`
	Status string `json:"status"`
	Done   int    `json:"done"`
	Total  int    `json:"total"`
	Error  string `json:"error,omitempty"`
	Size   int    `json:"size"`
	Parts  int    `json:"parts"`
}

// jobIDPattern is what an export job id may be before the client puts it in a path.
var jobIDPattern = regexp.MustCompile(`^exp-[0-9]{8}-[0-9]{6}-[a-z2-7]{16}$`)

// maxPollDelay bounds the wait between two looks at a running job.
const maxPollDelay = 2 * time.Second

// ExportJob exports graph ("" for every graph the caller reads) in format
// (json, dot, markdown or logseq) through an export job: it queues the job,
// follows it until it ends, telling progress (nil: nobody) each state it
// sees, and returns the result, its parts joined.
func (c *Client) ExportJob(ctx context.Context, graph, format string, progress func(ExportStatus)) ([]byte, error) {
	var job ExportStatus
	if err := c.do(ctx, "POST", "/exports", map[string]string{"graph": graph, "format": format}, &job); err != nil {
		return nil, err
	}
	if !jobIDPattern.MatchString(job.ID) {
		return nil, &UntrustedError{Msg: fmt.Sprintf("an export job id %q", job.ID)}
	}
	for delay := 100 * time.Millisecond; job.Status != "succeeded"; delay = min(2*delay, maxPollDelay) {
		if progress != nil {
			progress(job)
		}
		if job.Status == "failed" {
			return nil, fmt.Errorf("export job %s failed: %s", job.ID, job.Error)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("export job %s: %w", job.ID, ctx.Err())
		case <-time.After(delay):
		}
		if err := c.do(ctx, "GET", "/exports/"+job.ID, nil, &job); err != nil {
			return nil, err
		}
	}
	if progress != nil {
		progress(job)
	}
	var out []byte
	for n := range job.Parts {
		part, err := c.raw(ctx, fmt.Sprintf("/exports/%s/result?part=%d", job.ID, n))
		if err != nil {
			return nil, err
		}
		out = append(out, part...)
	}
	if len(out) != job.Size {
		return nil, fmt.Errorf("export job %s: %d bytes downloaded, the job says %d", job.ID, len(out), job.Size)
	}
	return out, nil
}

// raw is a GET whose body is not JSON.
func (c *Client) raw(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.Base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.Header != "" {
		req.Header.Set(c.Header, c.Value)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, fmt.Errorf("kogral API %s: %w", c.Base, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("kogral API GET %s: %w", path, err)
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, fmt.Errorf("kogral API GET %s: %d %s", path, res.StatusCode, e.Error.Message)
	}
	return body, nil
}

// Export is the graph as JSON, through an export job (ExportJob) whose
// progress goes to c.ExportProgress.
func (c *Client) Export(ctx context.Context, graph string) (kogral.Subgraph, error) {
	data, err := c.ExportJob(ctx, graph, "json", c.ExportProgress)
	if err != nil {
		return kogral.Subgraph{}, err
	}
	var g kogral.Subgraph
	if err := json.Unmarshal(data, &g); err != nil {
		return kogral.Subgraph{}, fmt.Errorf("export of graph %q: %w", graph, err)
	}
	return subgraph(g, nil)
}

// SmallExport is the graph as JSON at once (GET /export), for small graphs:
// kogral-api refuses larger ones (use Export).
func (c *Client) SmallExport(ctx context.Context, graph string) (kogral.Subgraph, error) {
	var g kogral.Subgraph
	return subgraph(g, c.do(ctx, "GET", "/export?"+url.Values{"graph": {graph}, "format": {"json"}}.Encode(), nil, &g))
}
