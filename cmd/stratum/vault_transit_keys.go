package main

import (
	"fmt"
	"strings"

	bao "github.com/openbao/openbao/api/v2"
	"github.com/spf13/cobra"
)

// keyCommands are the transit verbs on keys themselves: create, read, list,
// rotate, config, delete and export.
func (t *transitCLI) keyCommands() []*cobra.Command {
	read := t.readKey("read <name>", "Show a key: versions, public keys, settings", cobra.ExactArgs(1),
		func(args []string) string { return "keys/" + args[0] }, 0)
	rotate := t.verb("rotate <name>", "Add a new key version", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			return "keys/" + args[0] + "/rotate", nil, nil
		})
	config := t.verb("config <name> key=value...", "Set min_decryption_version, min_encryption_version, deletion_allowed, exportable…", cobra.MinimumNArgs(2),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			body, err := parseKV(args[1:])
			return "keys/" + args[0] + "/config", body, err
		})
	export := t.readKey("export <encryption-key|signing-key|hmac-key|public-key> <name> [version]", "Export key material (exportable keys only)", cobra.RangeArgs(2, 3),
		func(args []string) string { return "export/" + strings.Join(args, "/") }, 1)
	return []*cobra.Command{t.createCommand(), read, t.listCommand(), rotate, config, t.deleteCommand(), export}
}

func (t *transitCLI) createCommand() *cobra.Command {
	var keyType string
	var exportable, derived, convergent bool
	create := t.verb("create <name>", "Create a key (aes256-gcm96 unless --type)", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			body := map[string]any{"exportable": exportable, "derived": derived, "convergent_encryption": convergent}
			if cmd.Flags().Changed("type") {
				// The vault refuses a type other than an existing key's.
				body["type"] = keyType
			}
			return "keys/" + args[0], body, nil
		})
	create.Flags().StringVar(&keyType, "type", "aes256-gcm96", "key type: aes128-gcm96, aes256-gcm96, chacha20-poly1305, xchacha20-poly1305, ecdsa-p256/p384/p521, ed25519, rsa-2048/3072/4096, hmac, ml-dsa-65, ml-kem-768, x-wing, ed25519+ml-dsa-65")
	create.Flags().BoolVar(&exportable, "exportable", false, "allow the key to be exported")
	create.Flags().BoolVar(&derived, "derived", false, "derive a key per context")
	create.Flags().BoolVar(&convergent, "convergent", false, "convergent encryption (needs --derived)")
	return create
}

func (t *transitCLI) listCommand() *cobra.Command {
	return &cobra.Command{Use: "list", Short: "List the keys", Args: cobra.NoArgs,
		RunE: t.client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			s, err := c.Logical().ListWithContext(cmd.Context(), t.mount+"/keys")
			if err != nil {
				return err
			}
			if s == nil {
				s = &bao.Secret{Data: map[string]any{"keys": []any{}}}
			}
			for _, k := range s.Data["keys"].([]any) {
				fmt.Fprintln(cmd.OutOrStdout(), k)
			}
			return nil
		})}
}

func (t *transitCLI) deleteCommand() *cobra.Command {
	return &cobra.Command{Use: "delete <name>", Short: "Delete a key (needs deletion_allowed)", Args: cobra.ExactArgs(1),
		RunE: t.client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			if _, err := c.Logical().DeleteWithContext(cmd.Context(), t.mount+"/keys/"+args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success! Deleted key %s\n", args[0])
			return nil
		})}
}
