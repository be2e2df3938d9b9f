package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"strings"

	bao "github.com/openbao/openbao/api/v2"
	"github.com/spf13/cobra"
)

// transitCommand is `stratum vault transit`: the transit engine's verbs.
// Inputs are given as text (or "-" for stdin) and base64-encoded here, as
// the API wants; decrypt prints the plaintext decoded.
func transitCommand(client clientFunc, out outFunc) *cobra.Command {
	t := &transitCLI{client: client, out: out}
	cmd := &cobra.Command{Use: "transit", Short: "Transit keys: create, encrypt, decrypt, sign, verify, hmac, rotate…"}
	cmd.PersistentFlags().StringVar(&t.mount, "mount", "transit", "where the transit engine is mounted")
	cmd.AddCommand(t.keyCommands()...)
	cmd.AddCommand(t.encryptionCommands()...)
	cmd.AddCommand(t.signingCommands()...)
	return cmd
}

// transitCLI is what the transit verbs share: the mount, the client, the
// printer, and the flags several verbs take (each verb registers the ones
// it uses, all bound to the same field).
type transitCLI struct {
	client clientFunc
	out    outFunc
	mount  string

	context, hashAlg, sigAlg string
	keyVersion               int
	field                    string // encrypt's --field
}

// transitInput reads an argument, or stdin for "-".
func transitInput(cmd *cobra.Command, arg string) (string, error) {
	if arg != "-" {
		return arg, nil
	}
	b, err := io.ReadAll(cmd.InOrStdin())
	return strings.TrimSuffix(string(b), "\n"), err
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// call writes body to <mount>/<path> and returns the answer (an empty one
// when the vault answers 204), its warnings printed.
func (t *transitCLI) call(cmd *cobra.Command, c *bao.Client, path string, body map[string]any) (*bao.Secret, error) {
	s, err := c.Logical().WriteWithContext(cmd.Context(), t.mount+"/"+path, body)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return &bao.Secret{Data: map[string]any{}}, nil
	}
	printWarnings(cmd, s.Warnings)
	return s, nil
}

func (t *transitCLI) show(cmd *cobra.Command, s *bao.Secret) {
	t.out(cmd).table("", s.Data, s)
}

// printField prints one field of the answer bare (the vault CLI's -field),
// or all of it with --format json.
func (t *transitCLI) printField(cmd *cobra.Command, s *bao.Secret) {
	if t.out(cmd).json || t.field == "" {
		t.show(cmd, s)
		return
	}
	fmt.Fprintln(cmd.OutOrStdout(), s.Data[t.field])
}

// verb builds a command that writes one request and shows the answer.
func (t *transitCLI) verb(use, short string, args cobra.PositionalArgs, build func(cmd *cobra.Command, args []string) (string, map[string]any, error)) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args,
		RunE: t.client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			path, body, err := build(cmd, args)
			if err != nil {
				return err
			}
			s, err := t.call(cmd, c, path, body)
			if err != nil {
				return err
			}
			t.show(cmd, s)
			return nil
		})}
}

// readKey builds a command that reads <mount>/<path(args)> and shows it;
// args[nameArg] names the key when there is none.
func (t *transitCLI) readKey(use, short string, args cobra.PositionalArgs, path func([]string) string, nameArg int) *cobra.Command {
	return &cobra.Command{Use: use, Short: short, Args: args,
		RunE: t.client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			s, err := c.Logical().ReadWithContext(cmd.Context(), t.mount+"/"+path(args))
			if err != nil {
				return err
			}
			if s == nil {
				return fmt.Errorf("no key %q at %s/", args[nameArg], t.mount)
			}
			t.show(cmd, s)
			return nil
		})}
}

// The flags several verbs share.

func (t *transitCLI) contextFlag(cmds ...*cobra.Command) {
	for _, c := range cmds {
		c.Flags().StringVar(&t.context, "context", "", "derivation context, or the ML-DSA context string for sign/verify")
	}
}

func (t *transitCLI) keyVersionFlag(cmds ...*cobra.Command) {
	for _, c := range cmds {
		c.Flags().IntVar(&t.keyVersion, "key-version", 0, "key version to use (default: latest)")
	}
}

func (t *transitCLI) hashFlag(cmds ...*cobra.Command) {
	for _, c := range cmds {
		c.Flags().StringVar(&t.hashAlg, "hash", "", "hash algorithm: sha2-256 (default), sha2-384, sha2-512, sha3-256…")
	}
}

func (t *transitCLI) signatureAlgorithmFlag(cmds ...*cobra.Command) {
	for _, c := range cmds {
		c.Flags().StringVar(&t.sigAlg, "signature-algorithm", "", "RSA: pss (default) or pkcs1v15")
	}
}

// printWarnings writes the vault's warnings to stderr, as the vault CLI does.
func printWarnings(cmd *cobra.Command, warnings []string) {
	if len(warnings) == 0 {
		return
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "WARNING! The following warnings were returned from Vault:")
	for _, w := range warnings {
		fmt.Fprintf(cmd.ErrOrStderr(), "\n  * %s\n", w)
	}
	fmt.Fprintln(cmd.ErrOrStderr())
}
