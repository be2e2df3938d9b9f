// Command kogral-mcp is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/kogral/mcpserver"
	"github.com/stratumiops/stratumiops/shared/platform/function"
)

func main() { function.Main("kogral-mcp", mcpserver.Function) }
