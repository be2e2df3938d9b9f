package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/shared/typedialog/formcli"
)

// formCommand is `stratum form`: TypeDialog's terminal back-end.
func formCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "form", Short: "TypeDialog: answer TOML forms and render configuration"}
	cmd.AddCommand(formRunCommand(), formValidateCommand())
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
