// Command kogral-on-execution is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/kogral/execution"
	"github.com/stratumiops/stratumiops/shared/platform/function"
)

func main() { function.Main("kogral-on-execution", execution.Function) }
