// Command kogral-api is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/kogral/apifn"
	"github.com/stratumiops/stratumiops/shared/platform/function"
)

func main() { function.Main("kogral-api", apifn.Function) }
