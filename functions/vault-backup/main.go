// Command vault-backup is the Lambda of the catalog function of that name.
package main

import (
	"github.com/stratumiops/stratumiops/shared/platform/function"
	"github.com/stratumiops/stratumiops/shared/platform/invoke/lambdaclient"
	"github.com/stratumiops/stratumiops/shared/vault/backup"
)

func main() { function.Main("vault-backup", backup.BackupFunction, lambdaclient.FromEnv) }
