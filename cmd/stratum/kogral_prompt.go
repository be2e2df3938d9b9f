package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/charmbracelet/huh"

	"github.com/stratumiops/stratumiops/shared/kogral"
)

// askDecision asks for each field of an ADR in the terminal (huh, as the
// TypeDialog CLI does): title when missing, status, context, decision,
// consequences, then alternatives one at a time (an empty title ends them),
// related decisions, the one it supersedes and tags. On a terminal the forms
// are interactive; otherwise (a pipe, a test) huh's accessible mode reads
// one answer per line from in and writes the questions to out.
func askDecision(in io.Reader, out io.Writer, d *kogral.DecisionRecord) error {
	run := formRunner(in, out)
	var related, tags string
	d.Status = "Proposed"
	var fields []huh.Field
	if strings.TrimSpace(d.Title) == "" {
		fields = append(fields, huh.NewInput().Title("Title").Value(&d.Title).Validate(required("a title")))
	}
	fields = append(fields,
		huh.NewSelect[string]().Title("Status").Options(huh.NewOptions(kogral.DecisionStati...)...).Value(&d.Status),
		huh.NewText().Title("Context: the forces at play").Value(&d.Context),
		huh.NewText().Title("Decision: what was decided").Value(&d.Decision),
		huh.NewText().Title("Consequences: what follows from it").Value(&d.Consequences))
	if err := run(huh.NewForm(huh.NewGroup(fields...))); err != nil {
		return err
	}
	if strings.TrimSpace(d.Title) == "" {
		return errors.New("add decision: a title is required")
	}
	for {
		var alt kogral.Alternative
		var pros, cons string
		if err := run(huh.NewForm(huh.NewGroup(huh.NewInput().Title("Alternative considered (empty: no more)").Value(&alt.Title)))); err != nil {
			return err
		}
		if strings.TrimSpace(alt.Title) == "" {
			break
		}
		if err := run(huh.NewForm(huh.NewGroup(
			huh.NewInput().Title("  Pros (separated by ;)").Value(&pros),
			huh.NewInput().Title("  Cons (separated by ;)").Value(&cons),
			huh.NewInput().Title("  Why it was not chosen").Value(&alt.WhyNotChosen),
		))); err != nil {
			return err
		}
		alt.Pros, alt.Cons = splitList(pros, ";"), splitList(cons, ";")
		d.Alternatives = append(d.Alternatives, alt)
	}
	last := huh.NewForm(huh.NewGroup(
		huh.NewInput().Title("Related decisions (ids, separated by ,)").Value(&related),
		huh.NewInput().Title("Supersedes (id, optional)").Value(&d.Supersedes),
		huh.NewInput().Title("Tags (separated by ,)").Value(&tags),
	))
	if err := run(last); err != nil {
		return err
	}
	d.RelatedDecisions, d.Tags = splitList(related, ","), splitList(tags, ",")
	d.Supersedes = strings.TrimSpace(d.Supersedes)
	return nil
}

// formRunner runs forms interactively on a terminal, else in huh's
// accessible mode over in and out.
func formRunner(in io.Reader, out io.Writer) func(*huh.Form) error {
	if f, ok := in.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			return func(form *huh.Form) error { return form.Run() }
		}
	}
	lines := &oneLine{r: in}
	return func(form *huh.Form) error {
		return form.WithAccessible(true).WithInput(lines).WithOutput(out).Run()
	}
}

// oneLine hands out at most one line per Read: huh's accessible mode reads
// each answer through a new bufio.Scanner, which would otherwise swallow the
// answers after it (a terminal gives one line per read anyway).
type oneLine struct {
	r   io.Reader
	buf []byte
	err error
}

func (o *oneLine) Read(p []byte) (int, error) {
	for !strings.Contains(string(o.buf), "\n") && o.err == nil {
		chunk := make([]byte, 512)
		n, err := o.r.Read(chunk)
		o.buf, o.err = append(o.buf, chunk[:n]...), err
	}
	if len(o.buf) == 0 {
		return 0, o.err
	}
	end := len(o.buf)
	if i := strings.IndexByte(string(o.buf), '\n'); i >= 0 {
		end = i + 1
	}
	n := copy(p, o.buf[:min(end, len(p))])
	o.buf = o.buf[n:]
	return n, nil
}

func required(what string) func(string) error {
	return func(s string) error {
		if strings.TrimSpace(s) == "" {
			return fmt.Errorf("%s is required", what)
		}
		return nil
	}
}

func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
