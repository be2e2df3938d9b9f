package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A workflow file is checked against the CUE contract before it is sent;
// the error names each violation by its path.
func TestCheckedWorkflow(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	doc := `name: web
environment: staging
defaults: {provider: upcloud}
tasks:
  - {id: net, kind: network}
  - {id: vm, kind: server, spec: {cpu: CPU, os: {family: debian, version: "12"}}, depends_on: [net]}
`
	if err := os.WriteFile(good, []byte(strings.Replace(doc, "CPU", "4", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(strings.Replace(doc, "CPU", "0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if body, err := checkedWorkflow(good); err != nil || !strings.Contains(string(body), `"cpu":4`) {
		t.Fatalf("good: %s %v", body, err)
	}
	_, err := checkedWorkflow(bad)
	if err == nil || !strings.Contains(err.Error(), "tasks.1.spec.cpu: invalid value 0 (out of bound >=1)") {
		t.Fatalf("bad: %v", err)
	}
}
