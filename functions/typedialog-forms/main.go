// Command typedialog-forms is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke/lambdaclient"
	"github.com/stratumiops/stratumiops/shared/typedialog"
)

func main() { function.Main("typedialog-forms", typedialog.Forms, lambdaclient.FromEnv) }
