// Package formcli is TypeDialog's terminal back-end: `stratum form run` and
// `stratum form validate`, non-interactive with an answers file or
// interactive with prompts (huh).
package formcli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/charmbracelet/huh"

	"github.com/stratumiops/stratumiops/shared/typedialog/contract"
	"github.com/stratumiops/stratumiops/shared/typedialog/form"
	"github.com/stratumiops/stratumiops/shared/typedialog/i18n"
	"github.com/stratumiops/stratumiops/shared/typedialog/tmpl"
)

// Exit codes of `stratum form`.
const (
	ExitInvalid    = 1 // answers, contract or template failed
	ExitDefinition = 2 // the form definition is wrong
)

// ExitError carries the process exit code; the problems are already on stderr.
type ExitError struct{ Code int }

func (e ExitError) Error() string { return fmt.Sprintf("exit status %d", e.Code) }

// Options of `stratum form run`.
type Options struct {
	FormPath    string
	AnswersPath string // empty: ask interactively
	Format      string // empty: the form's [output] format
	Out         string // empty: stdout
	TemplateOut string // where the form's template renders; empty: checked, not written
	// Lang is the person's language (a tag or an Accept-Language list);
	// then the form's [form] lang, then English. The form's translations
	// are <form dir>/locales/<lang>/<form id>.ftl.
	Lang   string
	Stdout io.Writer
	Stderr io.Writer
	// Ask runs one prompt form (a terminal or huh's accessible mode).
	Ask func(*huh.Form) error
	// Collect, when set, gathers the answers instead (the TUI); dir is the
	// form's folder, where its contract and template are found.
	// The form comes localized, with the localizer that worded it.
	Collect func(ctx context.Context, f *form.Form, loc *i18n.Localizer, dir string) (map[string]any, error)
}

// Validate checks a definition only: exit 2 with every problem on stderr.
func Validate(path string, stdout, stderr io.Writer) error {
	f, err := load(path, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: form %s %s is valid (%d fields)\n", path, f.Form.ID, f.Form.Version, len(f.Fields()))
	return nil
}

func load(path string, stderr io.Writer) (*form.Form, error) {
	f, err := form.LoadFile(path)
	var de *form.DefinitionError
	if errors.As(err, &de) {
		for _, p := range de.Problems {
			fmt.Fprintln(stderr, p.String())
		}
		return nil, ExitError{Code: ExitDefinition}
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, ExitError{Code: ExitDefinition}
	}
	return f, nil
}

// Run answers a form (from a file or by asking) and writes its output.
func Run(ctx context.Context, o Options) error {
	f, err := load(o.FormPath, o.Stderr)
	if err != nil {
		return err
	}
	loc, err := o.localizer(f)
	if err != nil {
		return err
	}
	f = loc.Form(f)
	answers, err := o.answers(ctx, f, loc)
	if err != nil {
		return err
	}
	r := f.Check(answers)
	if len(r.Errors) > 0 {
		for _, fe := range loc.Errors(f, r.Errors) {
			fmt.Fprintln(o.Stderr, fe.String())
		}
		return ExitError{Code: ExitInvalid}
	}
	dir := filepath.Dir(o.FormPath)
	if ref := f.Output.Validation; ref != "" {
		if err := contract.Check(ctx, ref, r.Values, dir); err != nil {
			fmt.Fprintln(o.Stderr, err)
			return ExitError{Code: ExitInvalid}
		}
	}
	return o.write(f, r.Values, dir)
}

// localizer picks the language: --lang, the form's default, English; a
// translation file that does not parse is a definition error (exit 2).
func (o Options) localizer(f *form.Form) (*i18n.Localizer, error) {
	b := i18n.NewBundle()
	if err := b.AddDir(filepath.Join(filepath.Dir(o.FormPath), "locales"), f.Form.ID); err != nil {
		fmt.Fprintln(o.Stderr, err)
		return nil, ExitError{Code: ExitDefinition}
	}
	return b.Localizer(o.Lang, f.Form.Lang), nil
}

func (o Options) answers(ctx context.Context, f *form.Form, loc *i18n.Localizer) (map[string]any, error) {
	if o.Collect != nil && o.AnswersPath == "" {
		return o.Collect(ctx, f, loc, filepath.Dir(o.FormPath))
	}
	if o.AnswersPath == "" {
		if o.Ask == nil {
			return nil, errors.New("no answers file and no terminal to ask on")
		}
		return Ask(f, o.Ask, loc)
	}
	data, err := os.ReadFile(o.AnswersPath)
	if err != nil {
		return nil, fmt.Errorf("read answers: %w", err)
	}
	a, err := form.DecodeAnswers(o.AnswersPath, data)
	if err != nil {
		fmt.Fprintln(o.Stderr, err)
		return nil, ExitError{Code: ExitInvalid}
	}
	return a, nil
}

func (o Options) write(f *form.Form, values map[string]any, dir string) error {
	format := o.Format
	if format == "" {
		format = f.Output.Format
	}
	out, err := form.Render(format, values)
	if err != nil {
		fmt.Fprintln(o.Stderr, err)
		return ExitError{Code: ExitInvalid}
	}
	if name := f.Output.Template; name != "" {
		if err := o.template(filepath.Join(dir, name), values); err != nil {
			return err
		}
	}
	if o.Out == "" {
		_, err = o.Stdout.Write(out)
		return err
	}
	if err := os.WriteFile(o.Out, out, 0o600); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

func (o Options) template(path string, values map[string]any) error {
	src, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(o.Stderr, "template: %v\n", err)
		return ExitError{Code: ExitInvalid}
	}
	out, err := tmpl.RenderTemplate(filepath.Base(path), src, values)
	if err != nil {
		fmt.Fprintln(o.Stderr, err)
		return ExitError{Code: ExitInvalid}
	}
	if o.TemplateOut == "" {
		return nil
	}
	if err := os.WriteFile(o.TemplateOut, out, 0o600); err != nil {
		return fmt.Errorf("write template output: %w", err)
	}
	return nil
}

// Problems is every reason answers cannot be submitted: each failing field,
// then the contract's violations. The TUI shows them on its summary page.
func Problems(ctx context.Context, f *form.Form, loc *i18n.Localizer, answers map[string]any, dir string) []string {
	r := f.Check(answers)
	var out []string
	for _, fe := range loc.Errors(f, r.Errors) {
		out = append(out, fe.String())
	}
	if len(out) > 0 || f.Output.Validation == "" {
		return out
	}
	if err := contract.Check(ctx, f.Output.Validation, r.Values, dir); err != nil {
		out = append(out, err.Error())
	}
	return out
}
