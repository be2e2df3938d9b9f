package events

import "fmt"

// SubjectBoardRepaired says the board check found a project's board broken
// (a card in two places or none, a column not dense) and repaired it.
const SubjectBoardRepaired = "vapora.boards.repaired"

// BoardFinding is one problem the board check found on one card.
type BoardFinding struct {
	TaskID  string   `json:"task_id"`
	Kind    string   `json:"kind"`
	Columns []string `json:"columns"`
	Detail  string   `json:"detail,omitempty"`
}

// BoardRepaired is published on vapora.boards.repaired.
type BoardRepaired struct {
	ID        string         `json:"id"`
	ProjectID string         `json:"project_id"`
	Findings  []BoardFinding `json:"findings"`
	// Reranked lists the columns re-ranked from their records.
	Reranked     []string `json:"reranked_columns"`
	RebuiltIndex bool     `json:"rebuilt_index"`
	// Clean says the board checked clean after the repair.
	Clean bool `json:"clean"`
}

// Validate reports the first field that is missing or malformed.
func (e BoardRepaired) Validate() error {
	if err := checkID("id", e.ID); err != nil {
		return err
	}
	if err := checkID("project_id", e.ProjectID); err != nil {
		return err
	}
	if len(e.Findings) == 0 {
		return fmt.Errorf("findings: at least one (a clean board is not repaired)")
	}
	for i, f := range e.Findings {
		if err := checkID(fmt.Sprintf("findings[%d].task_id", i), f.TaskID); err != nil {
			return err
		}
		if f.Kind == "" {
			return fmt.Errorf("findings[%d].kind: required", i)
		}
	}
	return nil
}
