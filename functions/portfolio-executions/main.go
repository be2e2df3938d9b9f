// Command portfolio-executions is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/portfolio"
)

func main() { function.Main("portfolio-executions", portfolio.Executions) }
