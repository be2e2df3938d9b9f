// Command surreal-users is the platform stack's custom resource (not a
// catalog function): at deploy time it defines each function's SurrealDB
// user, of its own database only (see shared/platform/dbusers).
package main

import "github.com/stratumiops/stratumiops/shared/platform/dbusers"

func main() { dbusers.Main() }
