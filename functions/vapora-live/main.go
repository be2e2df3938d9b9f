// Command vapora-live is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/vapora/vaporafn"
)

func main() { function.Main("vapora-live", vaporafn.Live) }
