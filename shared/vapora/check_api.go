package vapora

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/stratumiops/stratumiops/events"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
	"github.com/stratumiops/stratumiops/shared/platform/httpapi"
)

// checkBoard is GET /projects/{id}/integrity: the board's integrity report.
func (a *API) checkBoard(w http.ResponseWriter, r *http.Request) error {
	p, err := a.project(r.Context(), r.PathValue("id"), "read")
	if err != nil {
		return err
	}
	rep, err := a.store.CheckBoard(r.Context(), p.ID)
	if err != nil {
		return storeError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// repairBoard is POST /projects/{id}/integrity/repair: repair, then report
// what was found, done and left. It takes no body (or an empty object).
func (a *API) repairBoard(w http.ResponseWriter, r *http.Request) error {
	p, err := a.project(r.Context(), r.PathValue("id"), "write")
	if err != nil {
		return err
	}
	if err := emptyBody(r); err != nil {
		return err
	}
	rep, err := a.store.RepairBoard(r.Context(), p.ID)
	if err != nil {
		return storeError(err)
	}
	httpapi.WriteJSON(w, http.StatusOK, rep)
	return nil
}

// emptyBody accepts no body, or a JSON object with no field.
func emptyBody(r *http.Request) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return httpapi.BadRequest("request body: %v", err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	var in struct{}
	return httpapi.DecodeJSON(r, &in)
}

// BoardCheck is the scheduled vapora-board-check: it checks every Active
// project's board, repairs the broken ones, logs each finding and announces
// each repair on vapora.boards.repaired.
type BoardCheck struct {
	store *Store
	bus   *bus.Bus
	log   *slog.Logger
}

// NewBoardCheck returns the check over store, publishing on b (nil: no events).
func NewBoardCheck(store *Store, b *bus.Bus, log *slog.Logger) *BoardCheck {
	return &BoardCheck{store: store, bus: b, log: log}
}

// BoardSweep sums up one run of the check.
type BoardSweep struct {
	Projects int `json:"projects"`
	Broken   int `json:"broken"`
	Repaired int `json:"repaired"`
}

// Run checks and repairs every Active project's board. A project whose
// repair fails is logged and left for the next run; the others go on.
func (c *BoardCheck) Run(ctx context.Context) (BoardSweep, error) {
	ids, err := c.store.ActiveProjects(ctx)
	if err != nil {
		return BoardSweep{}, err
	}
	reports, err := c.store.CheckBoards(ctx, ids)
	if err != nil {
		return BoardSweep{}, err
	}
	sum := BoardSweep{Projects: len(ids)}
	var failed error
	for _, rep := range reports {
		if rep.Clean {
			continue
		}
		sum.Broken++
		if err := c.repair(ctx, rep); err != nil {
			c.log.Error("board repair failed", "project", rep.ProjectID, "err", err)
			failed = fmt.Errorf("repair board of %s: %w", rep.ProjectID, err)
			continue
		}
		sum.Repaired++
	}
	return sum, failed
}

// repair repairs one broken board, logging what it found and did.
func (c *BoardCheck) repair(ctx context.Context, rep BoardReport) error {
	if rep.IndexError != "" {
		c.log.Warn("rank index build failed", "index", "idx_tasks_rank", "status", rep.IndexStatus, "err", rep.IndexError)
	}
	for _, p := range rep.Problems {
		c.log.Warn("board problem", "project", rep.ProjectID, "task", p.TaskID, "kind", p.Kind, "columns", p.Columns, "detail", p.Detail)
	}
	res, err := c.store.RepairBoard(ctx, rep.ProjectID)
	if err != nil {
		return err
	}
	c.log.Info("board repaired", "project", rep.ProjectID, "reranked_columns", res.Reranked, "rebuilt_index", res.RebuiltIndex,
		"clean", res.After.Clean, "problems_left", len(res.After.Problems), "attempts", res.Attempts)
	if c.bus == nil || res.Before.Clean {
		return nil // fixed meanwhile (or nothing to announce on)
	}
	ev := events.BoardRepaired{ID: fmt.Sprintf("board-%s-%d", rep.ProjectID, res.Before.CheckedAt.UnixNano()), ProjectID: rep.ProjectID,
		Reranked: res.Reranked, RebuiltIndex: res.RebuiltIndex, Clean: res.After.Clean}
	if ev.Reranked == nil {
		ev.Reranked = []string{}
	}
	for _, p := range res.Before.Problems {
		ev.Findings = append(ev.Findings, events.BoardFinding{TaskID: p.TaskID, Kind: p.Kind, Columns: p.Columns, Detail: p.Detail})
	}
	if _, err := c.bus.Publish(ctx, events.SubjectBoardRepaired, ev.ID, ev, nil); err != nil {
		return fmt.Errorf("publish %s: %w", events.SubjectBoardRepaired, err)
	}
	return nil
}
