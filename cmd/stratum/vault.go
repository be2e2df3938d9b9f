package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"text/tabwriter"

	bao "github.com/openbao/openbao/api/v2"
	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/shared/vault"
)

// exitCodeError carries an exit code, as `vault status` exits 2 when sealed.
type exitCodeError struct{ code int }

func (e exitCodeError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// vaultCommand is `stratum vault`: the everyday `vault` CLI verbs, against any
// Vault-compatible server (VAULT_ADDR, VAULT_TOKEN), SecretumVault first.
func vaultCommand() *cobra.Command {
	var address, format string
	cmd := &cobra.Command{
		Use:   "vault",
		Short: "SecretumVault CLI: operator, secrets, kv, token, policy and transit verbs, like the vault CLI",
	}
	cmd.PersistentFlags().StringVar(&address, "address", "", "vault address (default $VAULT_ADDR, else http://127.0.0.1:8200)")
	cmd.PersistentFlags().StringVar(&format, "format", "table", "output format: table or json")
	client := func() (*bao.Client, error) {
		cfg := bao.DefaultConfig()
		if cfg.Error != nil {
			return nil, cfg.Error
		}
		if address != "" {
			cfg.Address = address
		} else if os.Getenv("VAULT_ADDR") == "" {
			cfg.Address = "http://127.0.0.1:8200"
		}
		cfg.MaxRetries = 0
		return bao.NewClient(cfg) // reads VAULT_TOKEN
	}
	out := func(cmd *cobra.Command) *printer { return &printer{w: cmd.OutOrStdout(), json: format == "json"} }
	cmd.AddCommand(operatorCommand(client, out), secretsCommand(client, out), kvCommand(client, out),
		tokenCommand(client, out), policyCommand(client, out), transitCommand(client, out))
	return cmd
}

type clientFunc func() (*bao.Client, error)

// run makes a cobra RunE that builds the client first.
func (client clientFunc) run(f func(cmd *cobra.Command, args []string, c *bao.Client) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := client()
		if err != nil {
			return err
		}
		return f(cmd, args, c)
	}
}

type outFunc func(*cobra.Command) *printer

// printer writes key/value tables like the vault CLI, or JSON.
type printer struct {
	w    io.Writer
	json bool
}

func (p *printer) table(title string, kv map[string]any, raw any) {
	if p.json {
		enc := json.NewEncoder(p.w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(raw)
		return
	}
	if title != "" {
		fmt.Fprintf(p.w, "%s\n", title)
	}
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(p.w, 0, 0, 4, ' ', 0)
	fmt.Fprintln(tw, "Key\tValue")
	fmt.Fprintln(tw, "---\t-----")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%v\n", k, display(kv[k]))
	}
	_ = tw.Flush()
}

func display(v any) any {
	switch x := v.(type) {
	case nil:
		return "n/a"
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = fmt.Sprint(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case map[string]any:
		raw, _ := json.Marshal(x)
		return string(raw)
	}
	return v
}

func operatorCommand(client clientFunc, out outFunc) *cobra.Command {
	cmd := &cobra.Command{Use: "operator", Short: "init, unseal, seal, status, snapshot save|restore"}
	var shares, threshold int
	var initToken string
	initCmd := &cobra.Command{Use: "init", Short: "Initialise the vault and print the unseal keys and root token",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			if initToken != "" { // a deployed vault's init gate (README, deploy runbook)
				c.AddHeader(vault.InitTokenHeader, initToken)
			}
			res, err := c.Sys().InitWithContext(cmd.Context(), &bao.InitRequest{SecretShares: shares, SecretThreshold: threshold})
			if err != nil {
				return err
			}
			p := out(cmd)
			if p.json {
				p.table("", nil, res)
				return nil
			}
			for i, k := range res.KeysB64 {
				fmt.Fprintf(p.w, "Unseal Key %d: %s\n", i+1, k)
			}
			fmt.Fprintf(p.w, "\nInitial Root Token: %s\n\nVault initialized with %d key shares and a key threshold of %d. "+
				"Please securely distribute the key shares printed above.\n", res.RootToken, shares, threshold)
			return nil
		})}
	initCmd.Flags().IntVar(&shares, "key-shares", 5, "number of key shares")
	initCmd.Flags().IntVar(&threshold, "key-threshold", 3, "shares required to unseal")
	initCmd.Flags().StringVar(&initToken, "init-token", os.Getenv("VAULT_INIT_TOKEN"),
		"a deployed vault's init token (the token field of the stratum/vault-init secret; env VAULT_INIT_TOKEN)")
	unseal := &cobra.Command{Use: "unseal [key]", Short: "Provide one unseal key share (read from stdin if not given)", Args: cobra.MaximumNArgs(1),
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			key := ""
			if len(args) == 1 {
				key = args[0]
			} else {
				raw, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), 4096))
				if err != nil {
					return err
				}
				key = strings.TrimSpace(string(raw))
			}
			st, err := c.Sys().UnsealWithContext(cmd.Context(), key)
			if err != nil {
				return err
			}
			printStatus(out(cmd), st)
			return nil
		})}
	seal := &cobra.Command{Use: "seal", Short: "Seal the vault (every instance stops serving secrets)",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			if err := c.Sys().SealWithContext(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Success! Vault is sealed.")
			return nil
		})}
	status := &cobra.Command{Use: "status", Short: "Seal status (exit code 2 when sealed)",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			st, err := c.Sys().SealStatusWithContext(cmd.Context())
			if err != nil {
				return err
			}
			printStatus(out(cmd), st)
			if st.Sealed {
				return exitCodeError{code: 2}
			}
			return nil
		})}
	cmd.AddCommand(initCmd, unseal, seal, status, snapshotCommand(client))
	return cmd
}

func printStatus(p *printer, st *bao.SealStatusResponse) {
	p.table("", map[string]any{
		"Seal Type": st.Type, "Initialized": st.Initialized, "Sealed": st.Sealed, "Total Shares": st.N,
		"Threshold": st.T, "Unseal Progress": fmt.Sprintf("%d/%d", st.Progress, st.T), "Unseal Nonce": st.Nonce,
		"Version": st.Version, "Storage Type": st.StorageType,
	}, st)
}

// splitMountPath turns "secret/app/db" into ("secret", "app/db").
func splitMountPath(p string) (string, string, error) {
	mount, rest, ok := strings.Cut(strings.Trim(p, "/"), "/")
	if !ok || rest == "" {
		return "", "", fmt.Errorf("path %q must be <mount>/<secret path>", p)
	}
	return mount, rest, nil
}

func parseKV(args []string) (map[string]any, error) {
	data := map[string]any{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", a)
		}
		if strings.HasPrefix(v, "@") {
			raw, err := os.ReadFile(v[1:])
			if err != nil {
				return nil, err
			}
			v = string(raw)
		}
		data[k] = v
	}
	if len(data) == 0 {
		return nil, errors.New("no data: give key=value pairs")
	}
	return data, nil
}

func secretsCommand(client clientFunc, out outFunc) *cobra.Command {
	cmd := &cobra.Command{Use: "secrets", Short: "enable, disable, list secrets engines"}
	var path, description string
	var version int
	enable := &cobra.Command{Use: "enable [-path=<path>] [-version=2] kv", Args: cobra.ExactArgs(1), Short: "Mount a secrets engine",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			if path == "" {
				path = args[0]
			}
			in := &bao.MountInput{Type: args[0], Description: description, Options: map[string]string{}}
			if version > 0 {
				in.Options["version"] = fmt.Sprint(version)
			}
			if err := c.Sys().MountWithContext(cmd.Context(), path, in); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success! Enabled the %s secrets engine at: %s/\n", args[0], strings.Trim(path, "/"))
			return nil
		})}
	enable.Flags().StringVar(&path, "path", "", "where to mount (default: the engine type)")
	enable.Flags().StringVar(&description, "description", "", "human-friendly description")
	enable.Flags().IntVar(&version, "version", 0, "KV version (1 or 2)")
	disable := &cobra.Command{Use: "disable <path>", Args: cobra.ExactArgs(1), Short: "Unmount a secrets engine and delete its data",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			if err := c.Sys().UnmountWithContext(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success! Disabled the secrets engine (if it existed) at: %s/\n", strings.Trim(args[0], "/"))
			return nil
		})}
	list := &cobra.Command{Use: "list", Short: "List mounted secrets engines",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			mounts, err := c.Sys().ListMountsWithContext(cmd.Context())
			if err != nil {
				return err
			}
			rows := map[string]any{}
			for p, m := range mounts {
				rows[p] = fmt.Sprintf("%s %s", m.Type, m.Description)
			}
			out(cmd).table("", rows, mounts)
			return nil
		})}
	cmd.AddCommand(enable, disable, list, tuneCommand(client))
	return cmd
}

// tuneCommand is `secrets tune`: a mount's lease TTLs and description.
func tuneCommand(client clientFunc) *cobra.Command {
	var defTTL, maxTTL, description string
	tune := &cobra.Command{Use: "tune [-default-lease-ttl=<d>] [-max-lease-ttl=<d>] <path>", Args: cobra.ExactArgs(1),
		Short: "Change a mount's lease TTLs (\"system\" resets one) or description",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			in := bao.MountConfigInput{DefaultLeaseTTL: defTTL, MaxLeaseTTL: maxTTL}
			if cmd.Flags().Changed("description") {
				in.Description = &description
			}
			if err := c.Sys().TuneMountWithContext(cmd.Context(), strings.Trim(args[0], "/"), in); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success! Tuned the secrets engine at: %s/\n", strings.Trim(args[0], "/"))
			return nil
		})}
	tune.Flags().StringVar(&defTTL, "default-lease-ttl", "", "default lease TTL, e.g. 1h")
	tune.Flags().StringVar(&maxTTL, "max-lease-ttl", "", "maximum lease TTL, e.g. 87600h")
	tune.Flags().StringVar(&description, "description", "", "human-friendly description")
	return tune
}

func tokenCommand(client clientFunc, out outFunc) *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "create, lookup, revoke"}
	var policies []string
	var ttl, period string
	var uses int
	var orphan bool
	var meta []string
	create := &cobra.Command{Use: "create", Short: "Create a child token (or an orphan with -orphan)",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			m := map[string]string{}
			for _, kv := range meta {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return fmt.Errorf("-metadata %q is not key=value", kv)
				}
				m[k] = v
			}
			req := &bao.TokenCreateRequest{Policies: policies, TTL: ttl, Period: period, NumUses: uses, Metadata: m}
			var s *bao.Secret
			var err error
			if orphan {
				s, err = c.Auth().Token().CreateOrphanWithContext(cmd.Context(), req)
			} else {
				s, err = c.Auth().Token().CreateWithContext(cmd.Context(), req)
			}
			if err != nil {
				return err
			}
			out(cmd).table("", map[string]any{"token": s.Auth.ClientToken, "token_accessor": s.Auth.Accessor,
				"token_duration": s.Auth.LeaseDuration, "token_renewable": s.Auth.Renewable, "token_policies": s.Auth.Policies}, s)
			return nil
		})}
	create.Flags().StringSliceVar(&policies, "policy", nil, "policy names (repeatable)")
	create.Flags().StringVar(&ttl, "ttl", "", "time to live, e.g. 1h")
	create.Flags().StringVar(&period, "period", "", "a periodic token: each renewal gives it this TTL again, with no maximum (needs root or sudo)")
	create.Flags().IntVar(&uses, "use-limit", 0, "number of uses (0 = unlimited)")
	create.Flags().BoolVar(&orphan, "orphan", false, "create a token with no parent")
	create.Flags().StringSliceVar(&meta, "metadata", nil, "key=value metadata (Cedar tags; repeatable)")
	lookup := &cobra.Command{Use: "lookup [token]", Args: cobra.MaximumNArgs(1), Short: "Look up a token (your own by default)",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			var err error
			var s *bao.Secret
			if len(args) == 1 {
				s, err = c.Auth().Token().LookupWithContext(cmd.Context(), args[0])
			} else {
				s, err = c.Auth().Token().LookupSelfWithContext(cmd.Context())
			}
			if err != nil {
				return err
			}
			out(cmd).table("", s.Data, s)
			return nil
		})}
	revoke := &cobra.Command{Use: "revoke <token>", Args: cobra.ExactArgs(1), Short: "Revoke a token and its children",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			if err := c.Auth().Token().RevokeTreeWithContext(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Success! Revoked token (if it existed)")
			return nil
		})}
	capabilities := &cobra.Command{Use: "capabilities [token] <path>", Args: cobra.RangeArgs(1, 2),
		Short: "What a token (your own by default) may do on a path",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			token, path := c.Token(), args[len(args)-1]
			if len(args) == 2 {
				token = args[0]
			}
			caps, err := c.Sys().CapabilitiesWithContext(cmd.Context(), token, path)
			if err != nil {
				return err
			}
			sort.Strings(caps)
			fmt.Fprintln(cmd.OutOrStdout(), strings.Join(caps, ", "))
			return nil
		})}
	cmd.AddCommand(create, lookup, revoke, capabilities)
	return cmd
}

func policyCommand(client clientFunc, out outFunc) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "write, read, list policies (Cedar, or Vault's HCL translated to Cedar)"}
	write := &cobra.Command{Use: "write <name> <file|->", Args: cobra.ExactArgs(2), Short: "Upload a Cedar policy document or a Vault HCL policy",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			var err error
			var raw []byte
			if args[1] == "-" {
				raw, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
			} else {
				raw, err = os.ReadFile(args[1])
			}
			if err != nil {
				return err
			}
			// Vault's HCL goes to sys/policies/acl (translated to Cedar there), Cedar as it is.
			endpoint := "sys/policies/acl/"
			if isCedarPolicy(args[1], string(raw)) {
				endpoint = "sys/policies/cedar/"
			}
			if _, err := c.Logical().WriteWithContext(cmd.Context(), endpoint+args[0], map[string]any{"policy": string(raw)}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Success! Uploaded policy: %s\n", args[0])
			return nil
		})}
	read := &cobra.Command{Use: "read <name>", Args: cobra.ExactArgs(1), Short: "Print a Cedar policy document",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			s, err := c.Logical().ReadWithContext(cmd.Context(), "sys/policies/acl/"+args[0]) // HCL as written, or Cedar
			if err != nil {
				return err
			}
			if s == nil {
				return fmt.Errorf("no policy named: %s", args[0])
			}
			fmt.Fprintln(cmd.OutOrStdout(), s.Data["policy"])
			return nil
		})}
	list := &cobra.Command{Use: "list", Short: "List policy names",
		RunE: client.run(func(cmd *cobra.Command, args []string, c *bao.Client) error {
			s, err := c.Logical().ListWithContext(cmd.Context(), "sys/policies/cedar")
			if err != nil {
				return err
			}
			for _, k := range s.Data["keys"].([]any) {
				fmt.Fprintln(cmd.OutOrStdout(), k)
			}
			return nil
		})}
	cmd.AddCommand(write, read, list)
	return cmd
}

// cedarStatement finds a Cedar permit or forbid statement.
var cedarStatement = regexp.MustCompile(`(?m)^\s*(@\w+\([^)]*\)\s*)*(permit|forbid)\s*\(`)

// isCedarPolicy tells a Cedar document (a .cedar file, or text with a
// permit/forbid statement) from Vault's HCL.
func isCedarPolicy(file, text string) bool {
	return strings.HasSuffix(file, ".cedar") || cedarStatement.MatchString(text)
}
