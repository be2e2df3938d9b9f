package vapora

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/surrealdb/surrealdb.go/pkg/models"
)

// The integrity check of a board (issue 27). A task's records are the truth:
// its status says its column and its rank its place there. The unique index
// idx_tasks_rank (project_id, status, rank) is what the board's queries ask,
// so a record and its index entry that disagree show a card in two places or
// in none, and an order (the number of lower-ranked tasks of the column) that
// is not the card's place.

// Kinds of problem a board check reports.
const (
	// ProblemMisplaced: the index lists the card in a column its record does
	// not hold, so the card shows in two places (or where it is not).
	ProblemMisplaced = "misplaced"
	// ProblemUnindexed: the index misses the card in its record's column.
	ProblemUnindexed = "unindexed"
	// ProblemDuplicateEntry: the index lists the card twice in one column.
	ProblemDuplicateEntry = "duplicate_entry"
	// ProblemRankClash: two cards of one column stand on one rank.
	ProblemRankClash = "rank_clash"
	// ProblemOrder: the card's order (lower-ranked cards of its column, as the
	// index counts them) is not its place in 0..n-1.
	ProblemOrder = "order"
)

// BoardProblem is one finding about one card.
type BoardProblem struct {
	TaskID string `json:"task_id"`
	Kind   string `json:"kind"`
	// Columns concerned: the record's column first, then the index's.
	Columns []string `json:"columns"`
	Detail  string   `json:"detail"`
}

// BoardReport is a check of one project's board.
type BoardReport struct {
	ProjectID string         `json:"project_id"`
	CheckedAt time.Time      `json:"checked_at"`
	Tasks     int            `json:"tasks"`
	Columns   map[string]int `json:"columns"` // cards per column, as the records say
	Clean     bool           `json:"clean"`
	Problems  []BoardProblem `json:"problems"`
	// IndexStatus is idx_tasks_rank's build status (ready, indexing, error…);
	// IndexError says why a build failed: while it stands, the index takes no
	// writes and the unique rank is not enforced.
	IndexStatus string `json:"index_status"`
	IndexError  string `json:"index_error,omitempty"`
}

// BoardRepair is what a repair found, did, and left.
type BoardRepair struct {
	Before BoardReport `json:"before"`
	After  BoardReport `json:"after"`
	// Reranked lists the columns re-ranked from their records.
	Reranked []string `json:"reranked_columns"`
	// RebuiltIndex says idx_tasks_rank was rebuilt, because rewriting the
	// records could not remove the index's stale entries.
	RebuiltIndex bool `json:"rebuilt_index"`
	Attempts     int  `json:"attempts"`
}

// boardRecord is a task as its record says.
type boardRecord struct {
	ID        string `json:"id"`
	ProjectID string `json:"project_id"`
	Status    string `json:"status"`
	Rank      int64  `json:"rank"`
}

// indexListing is what idx_tasks_rank answers for each column of a project.
type indexListing struct {
	Project string        `json:"project"`
	Todo    []boardRecord `json:"Todo"`
	Doing   []boardRecord `json:"Doing"`
	Review  []boardRecord `json:"Review"`
	Done    []boardRecord `json:"Done"`
}

func (ix indexListing) listed(status string) []boardRecord {
	switch status {
	case "Todo":
		return ix.Todo
	case "Doing":
		return ix.Doing
	case "Review":
		return ix.Review
	}
	return ix.Done
}

// checkBatch bounds the projects one snapshot reads.
const checkBatch = 50

// CheckBoards checks the boards of projects (each once, in the order given).
func (s *Store) CheckBoards(ctx context.Context, projects []string) ([]BoardReport, error) {
	var out []BoardReport
	for batch := range slices.Chunk(projects, checkBatch) {
		snap, err := s.boardSnapshot(ctx, batch)
		if err != nil {
			return nil, fmt.Errorf("check boards: %w", err)
		}
		byProject := map[string][]boardRecord{}
		for _, r := range snap.Records {
			byProject[r.ProjectID] = append(byProject[r.ProjectID], r)
		}
		at := s.now()
		for i, p := range batch {
			var ix indexListing
			if i < len(snap.Index) {
				ix = snap.Index[i]
			}
			rep := judgeBoard(byProject[p], ix)
			rep.ProjectID, rep.CheckedAt = p, at
			rep.IndexStatus, rep.IndexError = snap.Build.Status, snap.Build.Error
			out = append(out, rep)
		}
	}
	return out, nil
}

// CheckBoard checks one project's board.
func (s *Store) CheckBoard(ctx context.Context, project string) (BoardReport, error) {
	reps, err := s.CheckBoards(ctx, []string{project})
	if err != nil {
		return BoardReport{}, err
	}
	return reps[0], nil
}

// byRank orders a column's records as the board shows them: by rank, ties by id.
func byRank(a, b boardRecord) int {
	return cmp.Or(cmp.Compare(a.Rank, b.Rank), strings.Compare(a.ID, b.ID))
}

// judgeBoard compares a project's records with what its index lists.
func judgeBoard(records []boardRecord, ix indexListing) BoardReport {
	rep := BoardReport{Tasks: len(records), Columns: map[string]int{}, Problems: []BoardProblem{}}
	home := map[string]string{}
	for _, r := range records {
		home[r.ID] = r.Status
		rep.Columns[r.Status]++
	}
	for _, status := range TaskStatuses {
		col := slices.DeleteFunc(slices.Clone(records), func(r boardRecord) bool { return r.Status != status })
		slices.SortFunc(col, byRank)
		rep.Problems = append(rep.Problems, judgeColumn(status, col, ix.listed(status), home)...)
	}
	rep.Clean = len(rep.Problems) == 0
	return rep
}

// judgeColumn finds the problems of one column: col is its records by rank,
// listed what the index lists for it.
func judgeColumn(status string, col, listed []boardRecord, home map[string]string) []BoardProblem {
	var out []BoardProblem
	add := func(id, kind, detail string, columns ...string) {
		out = append(out, BoardProblem{TaskID: id, Kind: kind, Columns: columns, Detail: detail})
	}
	seen := map[string]int{}
	for _, e := range listed {
		seen[e.ID]++
		switch {
		case seen[e.ID] == 2:
			add(e.ID, ProblemDuplicateEntry, fmt.Sprintf("the index lists it more than once in %s", status), status)
		case seen[e.ID] > 2:
		case home[e.ID] != status || e.Status != status:
			add(e.ID, ProblemMisplaced, fmt.Sprintf("its record is in %s, the index also lists it in %s",
				cmp.Or(home[e.ID], "no column of this project"), status), cmp.Or(home[e.ID], "none"), status)
		}
	}
	for i, r := range col {
		if seen[r.ID] == 0 {
			add(r.ID, ProblemUnindexed, fmt.Sprintf("the index misses it in %s", status), status)
		}
		if i > 0 && col[i-1].Rank == r.Rank {
			add(r.ID, ProblemRankClash, fmt.Sprintf("rank %d is also %s's", r.Rank, col[i-1].ID), status)
		}
		order := 0 // as the database counts it: entries of the column ranked below
		for _, e := range listed {
			if e.Rank < r.Rank {
				order++
			}
		}
		if order != i {
			add(r.ID, ProblemOrder, fmt.Sprintf("order %d, but it is card %d of %d in %s", order, i, len(col), status), status)
		}
	}
	return out
}

// ---- repair -------------------------------------------------------------------

// errBoardChanged is a repair that found a record changed since its check.
var errBoardChanged = errors.New("the board changed during the repair")

// repairAttempts bounds the check-and-repair rounds against active writers.
const repairAttempts = 5

// RepairBoard checks a project's board and, if it is broken, re-ranks each
// broken column from its records in one transaction (keeping the records'
// order, ties by id), which rewrites every card's index entry. Each write is
// conditional on the record being as the check read it; if a writer moved a
// card meanwhile, the transaction is cancelled and the board checked again.
// If stale index entries survive (they belong to no record, so rewriting
// records cannot reach them), the index is rebuilt: see rebuildRankIndex.
func (s *Store) RepairBoard(ctx context.Context, project string) (BoardRepair, error) {
	var out BoardRepair
	for out.Attempts < repairAttempts {
		out.Attempts++
		rep, err := s.CheckBoard(ctx, project)
		if err != nil {
			return out, err
		}
		if out.Attempts == 1 {
			out.Before = rep
		}
		if rep.Clean {
			out.After = rep
			return out, nil
		}
		cols, err := s.rerank(ctx, project, rep)
		switch {
		case errors.Is(err, errBoardChanged):
			continue // a writer moved a card meanwhile: look again
		case rankClash(err) && !out.RebuiltIndex:
			// A stale entry holds a rank the column needs.
			if err := s.rebuildRankIndex(ctx); err != nil {
				return out, err
			}
			out.RebuiltIndex = true
			continue
		case err != nil:
			return out, err
		}
		out.Reranked = mergeColumns(out.Reranked, cols)
		if out.After, err = s.CheckBoard(ctx, project); err != nil || out.After.Clean || out.RebuiltIndex {
			return out, err
		}
		if indexOnly(out.After) {
			if err := s.rebuildRankIndex(ctx); err != nil {
				return out, err
			}
			out.RebuiltIndex = true
		}
	}
	var err error
	out.After, err = s.CheckBoard(ctx, project)
	return out, err
}

func mergeColumns(a, b []string) []string {
	for _, c := range b {
		if !slices.Contains(a, c) {
			a = append(a, c)
		}
	}
	return a
}

// indexOnly reports problems that the records do not show: entries of the
// index that belong to no record as it is.
func indexOnly(rep BoardReport) bool {
	for _, p := range rep.Problems {
		if p.Kind == ProblemRankClash {
			return false
		}
	}
	return true
}

// rerankStep moves one card: from old to park to final.
type rerankStep struct {
	ID     models.RecordID `json:"id"`
	Status string          `json:"status"`
	Old    int64           `json:"old"`
	Park   int64           `json:"park"`
	Final  int64           `json:"final"`
}

// rerank re-ranks the columns that rep finds broken; it returns them.
func (s *Store) rerank(ctx context.Context, project string, rep BoardReport) ([]string, error) {
	records, err := s.boardRecords(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("repair board: read records: %w", err)
	}
	broken := map[string]bool{}
	for _, p := range rep.Problems {
		for _, c := range p.Columns {
			broken[c] = slices.Contains(TaskStatuses, c)
		}
	}
	var steps []rerankStep
	var cols []string
	// Parking ranks of this repair: below any rank in use, and apart from
	// those of another repair of the same board running at the same time.
	park := math.MinInt64/2 + int64(rand.Uint32())<<20
	for _, status := range TaskStatuses {
		col := slices.DeleteFunc(slices.Clone(records), func(r boardRecord) bool { return r.Status != status })
		if !broken[status] || len(col) == 0 {
			continue
		}
		cols = append(cols, status)
		steps = append(steps, rerankColumn(col, park+int64(len(steps)))...)
	}
	if err := s.applyRerank(ctx, project, steps); err != nil {
		return nil, fmt.Errorf("repair board: re-rank %v: %w", cols, err)
	}
	return cols, nil
}

// rerankColumn plans a column's new ranks: its records' order (ties by id),
// rankGap apart, ending at its highest rank so that tasks entering later
// still go last. Its parking ranks start at park.
func rerankColumn(col []boardRecord, park int64) []rerankStep {
	slices.SortFunc(col, byRank)
	top := col[len(col)-1].Rank
	steps := make([]rerankStep, len(col))
	for i, r := range col {
		steps[i] = rerankStep{ID: rid("tasks", r.ID), Status: r.Status, Old: r.Rank,
			Park: park + int64(i), Final: top - int64(len(col)-1-i)*rankGap}
	}
	return steps
}
