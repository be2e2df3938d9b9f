// Command provisioning-workflows is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/provisioning/provfn"
)

func main() { function.Main("provisioning-workflows", provfn.Workflows) }
