// Command vault-secrets is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke/lambdaclient"
	"github.com/stratumiops/stratumiops/shared/vault/secretsfn"
)

func main() { function.Main("vault-secrets", secretsfn.Function, lambdaclient.FromEnv) }
