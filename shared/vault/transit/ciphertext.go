package transit

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Prefixed values ("vault:v3:<base64>") are how ciphertexts, signatures and
// HMACs name the key version that made them.

func formatPrefixed(version int, raw []byte) string {
	return "vault:v" + strconv.Itoa(version) + ":" + base64.StdEncoding.EncodeToString(raw)
}

// parsePrefixed splits a prefixed value; what names the problem ("ciphertext",
// "signature", "hmac") in the error.
func parsePrefixed(s, what string) (int, []byte, error) {
	rest, ok := strings.CutPrefix(s, "vault:v")
	if !ok {
		return 0, nil, invalid("invalid %s: no prefix", what)
	}
	num, payload, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, nil, invalid("invalid %s: wrong number of fields", what)
	}
	version, err := strconv.Atoi(num)
	if err != nil || version < 1 || strings.HasPrefix(num, "+") {
		return 0, nil, invalid("invalid %s: version number could not be decoded", what)
	}
	raw, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		return 0, nil, invalid("invalid %s: could not decode base64", what)
	}
	return version, raw, nil
}
