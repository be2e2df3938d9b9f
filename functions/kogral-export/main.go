// Command kogral-export is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/kogral/exportjob"
	"github.com/stratumiops/stratumiops/shared/platform/function"
)

func main() { function.Main("kogral-export", exportjob.Function) }
