package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for the stratum binary: run with
// STRATUM_TEST_AS_CLI=1 it is `stratum <args>` (the TUI test starts it in tmux).
func TestMain(m *testing.M) {
	if os.Getenv("STRATUM_TEST_AS_CLI") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// tmuxPane is one detached tmux session on a server of the test's own.
type tmuxPane struct {
	t      *testing.T
	socket string
}

func startTmux(t *testing.T, command ...string) *tmuxPane {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatal("tmux is not installed (make deps installs it)")
	}
	p := &tmuxPane{t: t, socket: fmt.Sprintf("stratum-test-%d-%s", os.Getpid(), t.Name())}
	args := append([]string{"-L", p.socket, "new-session", "-d", "-s", "form", "-x", "160", "-y", "45"}, command...)
	if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
		t.Fatalf("tmux: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "-L", p.socket, "kill-server").Run() })
	return p
}

// keys sends tmux key names (Tab, Enter, Escape, Left, C-u …) or literal text.
func (p *tmuxPane) keys(keys ...string) {
	p.t.Helper()
	for _, k := range keys {
		args := []string{"-L", p.socket, "send-keys", "-t", "form"}
		if strings.HasPrefix(k, "text:") {
			args = append(args, "-l", strings.TrimPrefix(k, "text:"))
		} else {
			args = append(args, k)
		}
		if out, err := exec.Command("tmux", args...).CombinedOutput(); err != nil {
			p.t.Fatalf("send-keys %q: %v: %s", k, err, out)
		}
	}
}

func (p *tmuxPane) screen() string {
	out, _ := exec.Command("tmux", "-L", p.socket, "capture-pane", "-p", "-t", "form").Output()
	return string(out)
}

// waitExit waits for the program to end (tmux closes its session).
func (p *tmuxPane) waitExit() {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for exec.Command("tmux", "-L", p.socket, "has-session", "-t", "form").Run() == nil {
		if time.Now().After(deadline) {
			p.t.Fatalf("still running:\n%s", p.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitFor polls the pane until every want is on screen and no gone is; the
// deadline only bounds a failing test.
func (p *tmuxPane) waitFor(want []string, gone ...string) string {
	p.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := p.screen()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		for _, g := range gone {
			ok = ok && !strings.Contains(s, g)
		}
		if ok {
			return s
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("screen lacks %q or still shows %q:\n%s", want, gone, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestFormTUIInTmux answers the example form in `stratum form tui` the way a
// person does: an email error shown inline and blocking the page, the
// conditional team size appearing and disappearing with the department, a
// second project added, the contract refusing on the summary, then submit.
func TestFormTUIInTmux(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	formPath, _ := filepath.Abs(exampleForm)
	out := filepath.Join(t.TempDir(), "answers.json")
	p := startTmux(t, "env", "STRATUM_TEST_AS_CLI=1", exe, "form", "tui", formPath, "--out", out)

	p.waitFor([]string{"Example Form — Basic Information (page 1 of 3)", "> Full Name:"})
	p.keys("text:Ada Lovelace", "Tab", "text:bad-email", "Tab")
	p.waitFor([]string{"✗ must match ^[^@]+@[^@]+\\.[^@]+$ (pattern)", "> Department: (•) Engineering"})
	p.keys("Enter") // refused: the page still fails
	p.waitFor([]string{"page 1 of 3", "✗ must match"})
	p.keys("Up", "C-u", "text:ada@example.org", "Down", "Enter")
	p.waitFor([]string{"Details (page 2 of 3)", "> Team Size:", "Previous Projects #1: Project Name:"})
	// A lone Escape goes back; keys sent in the same read would be taken as
	// alt+key, so wait for the page as a person would.
	p.keys("Escape")
	p.waitFor([]string{"page 1 of 3"})
	p.keys("Down", "Down", "Right", "Enter") // product: no team size
	p.waitFor([]string{"Details (page 2 of 3)", "> Skills:"}, "Team Size")
	p.keys("Escape")
	p.waitFor([]string{"page 1 of 3"})
	p.keys("Down", "Down", "Left", "Enter") // engineering again
	p.waitFor([]string{"> Team Size:"})
	p.keys("Down", "Space", "Right", "Right", "Right", "Space", // skills: rust, go
		"Down", "text:engine", "Down", "Right", "Right", // project 1: engine, developer
		"Down", "Space", "text:web", "Enter")
	s := p.waitFor([]string{"Summary (page 3 of 3)", "projects[1].project_name: web", "skills: rust, go"})
	if strings.Contains(s, "team_size") {
		t.Fatalf("team size was never chosen:\n%s", s)
	}
	p.keys("Enter") // the CUE contract: engineering needs a team size
	p.waitFor([]string{"Cannot submit:", "team_size"})
	p.keys("Escape")
	p.waitFor([]string{"page 2 of 3", "> Team Size:"})
	p.keys("Right", "Right", "Enter")
	p.waitFor([]string{"team_size: medium"}, "Cannot submit:")
	p.keys("Enter")

	var got struct {
		Department string           `json:"department"`
		TeamSize   string           `json:"team_size"`
		Skills     []string         `json:"skills"`
		Projects   []map[string]any `json:"projects"`
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := os.ReadFile(out)
		if err == nil && json.Unmarshal(data, &got) == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no output (%v):\n%s", err, p.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got.Department != "engineering" || got.TeamSize != "medium" || strings.Join(got.Skills, ",") != "rust,go" ||
		len(got.Projects) != 2 || got.Projects[0]["project_role"] != "developer" || got.Projects[1]["project_name"] != "web" {
		t.Fatalf("output %+v", got)
	}
}

// The TUI in Spanish (--locale es): the form's translations, TypeDialog's own
// wording and the rule messages; ctrl+c leaves without output.
func TestFormTUISpanishInTmux(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	formPath, _ := filepath.Abs(exampleForm)
	out := filepath.Join(t.TempDir(), "answers.json")
	p := startTmux(t, "env", "STRATUM_TEST_AS_CLI=1", exe, "form", "tui", formPath, "--locale", "es", "--out", out)
	p.waitFor([]string{"Formulario de ejemplo — Información básica (página 1 de 3)", "> Nombre completo:", "Departamento: (•) Ingeniería"})
	p.keys("text:A", "Tab", "Enter")
	p.waitFor([]string{"✗ debe tener al menos 2 caracteres (min_length)", "✗ es obligatorio (required)", "página 1 de 3"})
	p.keys("C-c")
	p.waitExit()
	if _, err := os.Stat(out); err == nil {
		t.Fatal("output written after ctrl+c")
	}
}

func TestFormRunSpanishMessages(t *testing.T) {
	bad := writeFile(t, "b.json", `{"name":"1","email":"x","department":"sales","projects":[]}`)
	_, errOut, code := runForm(t, "", "run", exampleForm, "--answers", bad, "--lang", "es-ES,es;q=0.9")
	for _, want := range []string{"name: debe tener al menos 2 caracteres (min_length)", "department: debe ser una de estas opciones: engineering, product, design (options)",
		"projects: necesita al menos 1 elemento (min_items)"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("missing %q in\n%s", want, errOut)
		}
	}
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
}
