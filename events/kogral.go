package events

import "fmt"

// SubjectExportRequested asks kogral-export to run a queued export job (POST
// /exports): the job is in Kogral's database, the event names it.
const SubjectExportRequested = "kogral.exports.requested"

// ExportRequested names a queued export job. Its id is the job's, so a
// repeated publish is dropped and a redelivery finds the job already done.
type ExportRequested struct {
	ID    string `json:"id"`
	JobID string `json:"job_id"`
}

// Validate reports the first field that is missing or malformed.
func (e ExportRequested) Validate() error {
	switch {
	case !idPattern.MatchString(e.ID):
		return fmt.Errorf("id %q: want 1–128 letters, digits or _.:- starting with a letter or digit", e.ID)
	case !idPattern.MatchString(e.JobID):
		return fmt.Errorf("job_id %q: malformed", e.JobID)
	}
	return nil
}
