// Command vault-crypto is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/vault/cryptofn"
)

func main() { function.Main("vault-crypto", cryptofn.Function) }
