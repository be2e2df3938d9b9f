// Command typedialog-contract is the Lambda of the catalog function of that
// name; it ships as a container image (catalog Image), as CUE does not fit a zip.
package main

import (
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/typedialog/contractfn"
)

func main() { function.Main("typedialog-contract", contractfn.Function) }
