// Command vapora-llm-on-cost is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/vapora/llm"
)

func main() { function.Main("vapora-llm-on-cost", llm.CostConsumer) }
