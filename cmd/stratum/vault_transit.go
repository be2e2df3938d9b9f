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
	var mount string
	cmd := &cobra.Command{Use: "transit", Short: "Transit keys: create, encrypt, decrypt, sign, verify, hmac, rotate…"}
	cmd.PersistentFlags().StringVar(&mount, "mount", "transit", "where the transit engine is mounted")

	// input reads an argument, or stdin for "-".
	input := func(cmd *cobra.Command, arg string) (string, error) {
		if arg != "-" {
			return arg, nil
		}
		b, err := io.ReadAll(cmd.InOrStdin())
		return strings.TrimSuffix(string(b), "\n"), err
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	// call writes body to <mount>/<path> and prints the fields of the answer.
	call := func(cmd *cobra.Command, c *bao.Client, path string, body map[string]any) (*bao.Secret, error) {
		s, err := c.Logical().WriteWithContext(cmd.Context(), mount+"/"+path, body)
		if err != nil {
			return nil, err
		}
		if s == nil {
			return &bao.Secret{Data: map[string]any{}}, nil
		}
		printWarnings(cmd, s.Warnings)
		return s, nil
	}
	show := func(cmd *cobra.Command, s *bao.Secret) {
		out(cmd).table("", s.Data, s)
	}
	// verb builds a command that writes one request and shows the answer.
	verb := func(use, short string, args cobra.PositionalArgs, build func(cmd *cobra.Command, args []string) (string, map[string]any, error)) *cobra.Command {
		return &cobra.Command{Use: use, Short: short, Args: args,
			RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
				path, body, err := build(cmd, args)
				if err != nil {
					return err
				}
				s, err := call(cmd, c, path, body)
				if err != nil {
					return err
				}
				show(cmd, s)
				return nil
			})}
	}

	var keyType, context, hashAlg, sigAlg, format string
	var exportable, derived, convergent bool
	var bits, keyVersion int
	create := verb("create <name>", "Create a key (aes256-gcm96 unless --type)", cobra.ExactArgs(1),
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

	read := &cobra.Command{Use: "read <name>", Short: "Show a key: versions, public keys, settings", Args: cobra.ExactArgs(1),
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			s, err := c.Logical().ReadWithContext(cmd.Context(), mount+"/keys/"+args[0])
			if err != nil {
				return err
			}
			if s == nil {
				return fmt.Errorf("no key %q at %s/", args[0], mount)
			}
			show(cmd, s)
			return nil
		})}
	list := &cobra.Command{Use: "list", Short: "List the keys", Args: cobra.NoArgs,
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			s, err := c.Logical().ListWithContext(cmd.Context(), mount+"/keys")
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
	rotate := verb("rotate <name>", "Add a new key version", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			return "keys/" + args[0] + "/rotate", nil, nil
		})
	config := verb("config <name> key=value...", "Set min_decryption_version, min_encryption_version, deletion_allowed, exportable…", cobra.MinimumNArgs(2),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			body, err := parseKV(args[1:])
			return "keys/" + args[0] + "/config", body, err
		})
	del := &cobra.Command{Use: "delete <name>", Short: "Delete a key (needs deletion_allowed)", Args: cobra.ExactArgs(1),
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			if _, err := c.Logical().DeleteWithContext(cmd.Context(), mount+"/keys/"+args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success! Deleted key %s\n", args[0])
			return nil
		})}
	var field string
	// printField prints one field of the answer bare (the vault CLI's
	// -field), or all of it with --format json.
	printField := func(cmd *cobra.Command, s *bao.Secret) {
		if out(cmd).json || field == "" {
			show(cmd, s)
			return
		}
		fmt.Fprintln(cmd.OutOrStdout(), s.Data[field])
	}
	encrypt := &cobra.Command{Use: "encrypt <name> <plaintext|->", Args: cobra.ExactArgs(2),
		Short: "Encrypt text and print the ciphertext (with --offline, to an ml-kem-768 or x-wing public key, without the vault)",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			text, err := input(cmd, args[1])
			if err != nil {
				return err
			}
			s, err := call(cmd, c, "encrypt/"+args[0], map[string]any{"plaintext": b64(text), "context": b64(context), "key_version": keyVersion})
			if err != nil {
				return err
			}
			printField(cmd, s)
			return nil
		})}
	encrypt.Flags().StringVar(&field, "field", "ciphertext", "print only this field of the answer (empty: the whole table)")
	withOffline(encrypt, input, printField, &keyVersion, &context)
	decrypt := &cobra.Command{Use: "decrypt <name> <ciphertext|->", Short: "Decrypt and print the plaintext", Args: cobra.ExactArgs(2),
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			ct, err := input(cmd, args[1])
			if err != nil {
				return err
			}
			s, err := call(cmd, c, "decrypt/"+args[0], map[string]any{"ciphertext": ct, "context": b64(context)})
			if err != nil {
				return err
			}
			plain, err := base64.StdEncoding.DecodeString(fmt.Sprint(s.Data["plaintext"]))
			if err != nil {
				return fmt.Errorf("decrypt: the answer is not base64: %w", err)
			}
			if out(cmd).json {
				show(cmd, s)
				return nil
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(plain))
			return nil
		})}
	rewrap := verb("rewrap <name> <ciphertext|->", "Re-encrypt a ciphertext with the latest key version", cobra.ExactArgs(2),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			ct, err := input(cmd, args[1])
			return "rewrap/" + args[0], map[string]any{"ciphertext": ct, "context": b64(context), "key_version": keyVersion}, err
		})
	datakey := verb("datakey <plaintext|wrapped> <name>", "Generate a data key, wrapped by the named key", cobra.ExactArgs(2),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			return "datakey/" + args[0] + "/" + args[1], map[string]any{"bits": bits, "context": b64(context)}, nil
		})
	datakey.Flags().IntVar(&bits, "bits", 256, "data key size: 128, 256 or 512")
	sign := verb("sign <name> <input|->", "Sign input", cobra.ExactArgs(2),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			text, err := input(cmd, args[1])
			return "sign/" + args[0], map[string]any{"input": b64(text), "hash_algorithm": hashAlg,
				"signature_algorithm": sigAlg, "context": b64(context), "key_version": keyVersion}, err
		})
	verify := verb("verify <name> <input> <signature>", "Verify a signature (or an HMAC with --hmac)", cobra.ExactArgs(3),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			body := map[string]any{"input": b64(args[1]), "hash_algorithm": hashAlg, "signature_algorithm": sigAlg, "context": b64(context)}
			if isHMAC, _ := cmd.Flags().GetBool("hmac"); isHMAC {
				body["hmac"], body["algorithm"] = args[2], hashAlg
			} else {
				body["signature"] = args[2]
			}
			return "verify/" + args[0], body, nil
		})
	verify.Flags().Bool("hmac", false, "the value to check is an HMAC, not a signature")
	hmacCmd := verb("hmac <name> <input|->", "HMAC input with the key", cobra.ExactArgs(2),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			text, err := input(cmd, args[1])
			return "hmac/" + args[0], map[string]any{"input": b64(text), "algorithm": hashAlg, "key_version": keyVersion}, err
		})
	random := verb("random [bytes]", "Random bytes from the vault", cobra.MaximumNArgs(1),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			path := "random"
			if len(args) == 1 {
				path += "/" + args[0]
			}
			return path, map[string]any{"format": format}, nil
		})
	random.Flags().StringVar(&format, "format", "base64", "base64 or hex")
	hashCmd := verb("hash <input|->", "Hash input", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			text, err := input(cmd, args[0])
			return "hash", map[string]any{"input": b64(text), "algorithm": hashAlg}, err
		})
	export := &cobra.Command{Use: "export <encryption-key|signing-key|hmac-key|public-key> <name> [version]", Short: "Export key material (exportable keys only)", Args: cobra.RangeArgs(2, 3),
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			s, err := c.Logical().ReadWithContext(cmd.Context(), mount+"/export/"+strings.Join(args, "/"))
			if err != nil {
				return err
			}
			if s == nil {
				return fmt.Errorf("no key %q at %s/", args[1], mount)
			}
			show(cmd, s)
			return nil
		})}
	for _, c := range []*cobra.Command{encrypt, decrypt, rewrap, datakey, sign, verify} {
		c.Flags().StringVar(&context, "context", "", "derivation context, or the ML-DSA context string for sign/verify")
	}
	for _, c := range []*cobra.Command{encrypt, rewrap, sign, hmacCmd} {
		c.Flags().IntVar(&keyVersion, "key-version", 0, "key version to use (default: latest)")
	}
	for _, c := range []*cobra.Command{sign, verify, hmacCmd, hashCmd} {
		c.Flags().StringVar(&hashAlg, "hash", "", "hash algorithm: sha2-256 (default), sha2-384, sha2-512, sha3-256…")
	}
	for _, c := range []*cobra.Command{sign, verify} {
		c.Flags().StringVar(&sigAlg, "signature-algorithm", "", "RSA: pss (default) or pkcs1v15")
	}
	cmd.AddCommand(create, read, list, rotate, config, del, encrypt, decrypt, rewrap, datakey, sign, verify, hmacCmd, random, hashCmd, export)
	return cmd
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
