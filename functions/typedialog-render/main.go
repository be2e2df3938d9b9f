// Command typedialog-render is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/typedialog/renderfn"
)

func main() { function.Main("typedialog-render", renderfn.Function) }
