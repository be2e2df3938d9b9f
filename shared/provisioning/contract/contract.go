// Package contract checks a workflow document against its CUE contract
// (schemas/provisioning/workflow.cue), naming each violation by its path
// (tasks.1.spec.cpu). The CLI checks a document before it sends it; the
// functions check the same rules in Go (provisioning.Prepare) and do not
// link CUE, which would not fit their binary budget.
package contract

import (
	"encoding/json"
	"fmt"

	"github.com/stratumiops/stratumiops/schemas"
	"github.com/stratumiops/stratumiops/shared/platform/cuecontract"
)

// Name is the contract's file.
const Name = "schemas/provisioning/workflow.cue"

// Check validates a workflow document (JSON). The error is a
// *cuecontract.Error listing each violation, or a decoding error.
func Check(doc []byte) error {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return fmt.Errorf("workflow document: %w", err)
	}
	src, err := schemas.Provisioning.ReadFile("provisioning/workflow.cue")
	if err != nil {
		return err
	}
	return cuecontract.Check(Name, src, v)
}
