package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	bao "github.com/openbao/openbao/api/v2"
	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/shared/vault/transit"
)

// withOffline adds --offline and --public-key to transit encrypt: with them
// it encrypts here, without a client; input reads the plaintext argument and
// show prints the answer as the online command does.
func withOffline(encrypt *cobra.Command, input func(*cobra.Command, string) (string, error),
	show func(*cobra.Command, *bao.Secret), keyVersion *int, context *string) {
	var offline bool
	var publicKeyFile string
	online := encrypt.RunE
	encrypt.RunE = func(cmd *cobra.Command, args []string) error {
		if !offline {
			if publicKeyFile != "" {
				return fmt.Errorf("--public-key is for --offline encryption")
			}
			return online(cmd, args)
		}
		if publicKeyFile == "" || *context != "" {
			return fmt.Errorf("--offline needs --public-key <file> and takes no --context")
		}
		text, err := input(cmd, args[1])
		if err != nil {
			return err
		}
		ct, v, err := encryptOffline(publicKeyFile, args[0], *keyVersion, []byte(text))
		if err != nil {
			return err
		}
		show(cmd, &bao.Secret{Data: map[string]any{"ciphertext": ct, "key_version": v}})
		return nil
	}
	encrypt.Flags().BoolVar(&offline, "offline", false, "encrypt to the key's public key here, without calling the vault (ml-kem-768, x-wing)")
	encrypt.Flags().StringVar(&publicKeyFile, "public-key", "", "with --offline: a `file` holding the key as 'transit read --format json' prints it, or one public key (PEM/DER SubjectPublicKeyInfo, base64 or raw; then --key-version too)")
}

// Offline encryption: an ml-kem-768 or x-wing key's ciphertext needs only
// its public key, so `transit encrypt --offline --public-key <file>` makes
// the same vault:vN: string the vault would, without calling it. The file
// is either the JSON of reading the key (`stratum vault transit read --format
// json <name>`, or `vault read -format=json transit/keys/<name>`), which
// names the type and the versions, or one public key: PEM or DER
// SubjectPublicKeyInfo, base64 of the raw key, or the raw bytes; then
// --key-version is required, since the version is bound into the ciphertext.

// keyDescription is what reading a transit key shows, as far as encrypting
// to it goes.
type keyDescription struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	LatestVersion int    `json:"latest_version"`
	Keys          map[string]struct {
		PublicKey string `json:"public_key"`
	} `json:"keys"`
}

// offlinePublicKey reads the key file for version (0 = the file's latest)
// of key name, and returns the type, raw public key and version to use.
func offlinePublicKey(path, name string, version int) (transit.KeyType, []byte, int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, 0, fmt.Errorf("read public key: %w", err)
	}
	if trimmed := bytes.TrimSpace(data); len(trimmed) == 0 || trimmed[0] != '{' {
		t, raw, err := transit.ParseEncryptionKey(data)
		if err != nil {
			return "", nil, 0, fmt.Errorf("%s: %w", path, err)
		}
		if version < 1 {
			return "", nil, 0, fmt.Errorf("%s holds one public key: say which key version it is with --key-version (the version is bound into the ciphertext)", path)
		}
		return t, raw, version, nil
	}
	var wrapped struct {
		Data *keyDescription `json:"data"`
	}
	var d keyDescription
	if err := json.Unmarshal(data, &wrapped); err == nil && wrapped.Data != nil {
		d = *wrapped.Data
	} else if err := json.Unmarshal(data, &d); err != nil {
		return "", nil, 0, fmt.Errorf("%s: not a key description: %w", path, err)
	}
	return fromDescription(path, d, name, version)
}

// fromDescription picks the version's public key out of a key's description.
func fromDescription(path string, d keyDescription, name string, version int) (transit.KeyType, []byte, int, error) {
	if d.Name != "" && d.Name != name {
		return "", nil, 0, fmt.Errorf("%s describes key %q, not %q", path, d.Name, name)
	}
	if version == 0 {
		version = d.LatestVersion
	}
	v, ok := d.Keys[strconv.Itoa(version)]
	if !ok || v.PublicKey == "" {
		return "", nil, 0, fmt.Errorf("%s has no public key for version %d", path, version)
	}
	t, raw, err := transit.ParseEncryptionKey([]byte(v.PublicKey))
	if err != nil {
		return "", nil, 0, fmt.Errorf("%s version %d: %w", path, version, err)
	}
	if d.Type != "" && string(t) != d.Type {
		return "", nil, 0, fmt.Errorf("%s: key type %s cannot be encrypted to offline (only ml-kem-768 and x-wing)", path, d.Type)
	}
	return t, raw, version, nil
}

// encryptOffline encrypts text to version of key name with the public key in path.
func encryptOffline(path, name string, version int, text []byte) (string, int, error) {
	t, raw, version, err := offlinePublicKey(path, name, version)
	if err != nil {
		return "", 0, err
	}
	ct, err := transit.EncryptToPublicKey(t, raw, name, version, text)
	return ct, version, err
}
