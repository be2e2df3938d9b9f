package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/shared/typedialog/form"
	"github.com/stratumiops/stratumiops/shared/typedialog/formcli"
	"github.com/stratumiops/stratumiops/shared/typedialog/formtui"
	"github.com/stratumiops/stratumiops/shared/typedialog/i18n"
)

// formCommand is `stratum form`: TypeDialog's terminal back-end.
func formCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "form", Short: "TypeDialog: answer TOML forms and render configuration"}
	cmd.AddCommand(formRunCommand(), formTUICommand(), formValidateCommand())
	return cmd
}

func formRunCommand() *cobra.Command {
	var o formcli.Options
	cmd := &cobra.Command{
		Use:   "run <form.toml>",
		Short: "Answer a form (prompts, or --answers file) and print its output",
		Long: "Asks every visible field in the terminal, or reads --answers (json, yaml or toml) and runs\n" +
			"non-interactively: exit 0 with the output on stdout (or --out), exit 1 with every failing\n" +
			"field on stderr, exit 2 when the definition itself is wrong. The form's template, when it\n" +
			"names one, is always rendered (a failure names its line) and written to --template-out.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.FormPath, o.Stdout, o.Stderr = args[0], cmd.OutOrStdout(), cmd.ErrOrStderr()
			o.Ask = formRunner(cmd.InOrStdin(), cmd.ErrOrStderr())
			return formExit(formcli.Run(cmd.Context(), o))
		},
	}
	cmd.Flags().StringVar(&o.AnswersPath, "answers", "", "answers file (.json, .yaml, .toml): run non-interactively")
	cmd.Flags().StringVar(&o.Format, "format", "", "output format: json, yaml, toml or nickel (default: the form's)")
	cmd.Flags().StringVar(&o.Out, "out", "", "write the output to this file instead of stdout")
	cmd.Flags().StringVar(&o.TemplateOut, "template-out", "", "write the form's rendered template to this file")
	langFlags(cmd, &o)
	return cmd
}

func formTUICommand() *cobra.Command {
	var o formcli.Options
	cmd := &cobra.Command{
		Use:   "tui <form.toml>",
		Short: "Answer a form full-screen: sections as pages, a summary page before submit",
		Long: "One page per section with its visible fields; tab/↓ and shift+tab/↑ move between fields,\n" +
			"←/→ or space choose, enter goes to the next page once the page's fields pass (each failing\n" +
			"rule is shown under its field), esc goes back; the summary page submits with enter, checking\n" +
			"the form's contract. The output goes to stdout (or --out) once the screen is restored.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.FormPath, o.Stdout, o.Stderr = args[0], cmd.OutOrStdout(), cmd.ErrOrStderr()
			o.Collect = func(ctx context.Context, f *form.Form, loc *i18n.Localizer, dir string) (map[string]any, error) {
				submit := func(a map[string]any) []string { return formcli.Problems(ctx, f, loc, a, dir) }
				return formtui.Run(f, submit, loc, cmd.InOrStdin(), cmd.ErrOrStderr())
			}
			return formExit(formcli.Run(cmd.Context(), o))
		},
	}
	cmd.Flags().StringVar(&o.Format, "format", "", "output format: json, yaml, toml or nickel (default: the form's)")
	cmd.Flags().StringVar(&o.Out, "out", "", "write the output to this file instead of stdout")
	cmd.Flags().StringVar(&o.TemplateOut, "template-out", "", "write the form's rendered template to this file")
	langFlags(cmd, &o)
	return cmd
}

func formValidateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate <form.toml>",
		Short: "Check a form definition: exit 2 listing every problem with file:line:column",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return formExit(formcli.Validate(args[0], cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
}

func formExit(err error) error {
	var exit formcli.ExitError
	if errors.As(err, &exit) {
		return exitCodeError{code: exit.Code}
	}
	return err
}

// langFlags are --lang and its alias --locale: the person's language, then
// the form's [form] lang, then English.
func langFlags(cmd *cobra.Command, o *formcli.Options) {
	const usage = "language of labels and messages (es, en, …): <form dir>/locales/<lang>/<form id>.ftl; default the form's lang, then en"
	cmd.Flags().StringVar(&o.Lang, "lang", "", usage)
	cmd.Flags().StringVar(&o.Lang, "locale", "", "same as --lang")
}
