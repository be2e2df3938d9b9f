package main

import (
	"encoding/base64"
	"fmt"

	bao "github.com/openbao/openbao/api/v2"
	"github.com/spf13/cobra"
)

// encryptionCommands are the transit verbs that encrypt: encrypt, decrypt,
// rewrap and datakey.
func (t *transitCLI) encryptionCommands() []*cobra.Command {
	encrypt := &cobra.Command{Use: "encrypt <name> <plaintext|->", Args: cobra.ExactArgs(2),
		Short: "Encrypt text and print the ciphertext (with --offline, to an ml-kem-768 or x-wing public key, without the vault)",
		RunE: t.client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			text, err := transitInput(cmd, args[1])
			if err != nil {
				return err
			}
			s, err := t.call(cmd, c, "encrypt/"+args[0], map[string]any{"plaintext": b64(text), "context": b64(t.context), "key_version": t.keyVersion})
			if err != nil {
				return err
			}
			t.printField(cmd, s)
			return nil
		})}
	encrypt.Flags().StringVar(&t.field, "field", "ciphertext", "print only this field of the answer (empty: the whole table)")
	withOffline(encrypt, transitInput, t.printField, &t.keyVersion, &t.context)
	decrypt := t.decryptCommand()
	rewrap := t.verb("rewrap <name> <ciphertext|->", "Re-encrypt a ciphertext with the latest key version", cobra.ExactArgs(2),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			ct, err := transitInput(cmd, args[1])
			return "rewrap/" + args[0], map[string]any{"ciphertext": ct, "context": b64(t.context), "key_version": t.keyVersion}, err
		})
	var bits int
	datakey := t.verb("datakey <plaintext|wrapped> <name>", "Generate a data key, wrapped by the named key", cobra.ExactArgs(2),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			return "datakey/" + args[0] + "/" + args[1], map[string]any{"bits": bits, "context": b64(t.context)}, nil
		})
	datakey.Flags().IntVar(&bits, "bits", 256, "data key size: 128, 256 or 512")
	t.contextFlag(encrypt, decrypt, rewrap, datakey)
	t.keyVersionFlag(encrypt, rewrap)
	return []*cobra.Command{encrypt, decrypt, rewrap, datakey}
}

func (t *transitCLI) decryptCommand() *cobra.Command {
	return &cobra.Command{Use: "decrypt <name> <ciphertext|->", Short: "Decrypt and print the plaintext", Args: cobra.ExactArgs(2),
		RunE: t.client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			ct, err := transitInput(cmd, args[1])
			if err != nil {
				return err
			}
			s, err := t.call(cmd, c, "decrypt/"+args[0], map[string]any{"ciphertext": ct, "context": b64(t.context)})
			if err != nil {
				return err
			}
			plain, err := base64.StdEncoding.DecodeString(fmt.Sprint(s.Data["plaintext"]))
			if err != nil {
				return fmt.Errorf("decrypt: the answer is not base64: %w", err)
			}
			if t.out(cmd).json {
				t.show(cmd, s)
				return nil
			}
			fmt.Fprintln(cmd.OutOrStdout(), string(plain))
			return nil
		})}
}

// signingCommands are the transit verbs that sign, MAC or hash, and random.
func (t *transitCLI) signingCommands() []*cobra.Command {
	sign := t.verb("sign <name> <input|->", "Sign input", cobra.ExactArgs(2),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			text, err := transitInput(cmd, args[1])
			return "sign/" + args[0], map[string]any{"input": b64(text), "hash_algorithm": t.hashAlg,
				"signature_algorithm": t.sigAlg, "context": b64(t.context), "key_version": t.keyVersion}, err
		})
	verify := t.verb("verify <name> <input> <signature>", "Verify a signature (or an HMAC with --hmac)", cobra.ExactArgs(3),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			body := map[string]any{"input": b64(args[1]), "hash_algorithm": t.hashAlg, "signature_algorithm": t.sigAlg, "context": b64(t.context)}
			if isHMAC, _ := cmd.Flags().GetBool("hmac"); isHMAC {
				body["hmac"], body["algorithm"] = args[2], t.hashAlg
			} else {
				body["signature"] = args[2]
			}
			return "verify/" + args[0], body, nil
		})
	verify.Flags().Bool("hmac", false, "the value to check is an HMAC, not a signature")
	hmacCmd := t.verb("hmac <name> <input|->", "HMAC input with the key", cobra.ExactArgs(2),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			text, err := transitInput(cmd, args[1])
			return "hmac/" + args[0], map[string]any{"input": b64(text), "algorithm": t.hashAlg, "key_version": t.keyVersion}, err
		})
	var format string
	random := t.verb("random [bytes]", "Random bytes from the vault", cobra.MaximumNArgs(1),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			path := "random"
			if len(args) == 1 {
				path += "/" + args[0]
			}
			return path, map[string]any{"format": format}, nil
		})
	random.Flags().StringVar(&format, "format", "base64", "base64 or hex")
	hashCmd := t.verb("hash <input|->", "Hash input", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string) (string, map[string]any, error) {
			text, err := transitInput(cmd, args[0])
			return "hash", map[string]any{"input": b64(text), "algorithm": t.hashAlg}, err
		})
	t.contextFlag(sign, verify)
	t.keyVersionFlag(sign, hmacCmd)
	t.hashFlag(sign, verify, hmacCmd, hashCmd)
	t.signatureAlgorithmFlag(sign, verify)
	return []*cobra.Command{sign, verify, hmacCmd, random, hashCmd}
}
