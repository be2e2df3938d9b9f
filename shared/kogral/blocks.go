package kogral

import (
	"strings"

	"github.com/stratumiops/stratumiops/shared/kogral/logseq"
)

// Block is a Logseq outline block (the seed's Block); see package logseq.
type Block = logseq.Block

// outlineOf is a node's outline, read in the format of the file it came from.
func outlineOf(n Node) []Block {
	if f, _ := n.Metadata["file"].(string); strings.HasSuffix(strings.ToLower(f), ".org") {
		_, b := logseq.ParseOrgPage([]byte(n.Content))
		return b
	}
	_, b := logseq.ParsePage([]byte(n.Content))
	return b
}
