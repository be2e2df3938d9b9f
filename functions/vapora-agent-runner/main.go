// Command vapora-agent-runner is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/vapora/llm/runner"
)

func main() { function.Main("vapora-agent-runner", runner.Function) }
