// Command vault-database is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke/lambdaclient"
	"github.com/stratumiops/stratumiops/shared/vault/database"
)

func main() { function.Main("vault-database", database.Function, lambdaclient.FromEnv) }
