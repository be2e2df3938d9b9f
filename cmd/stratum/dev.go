package main

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/platform/catalog"
	"github.com/stratumiops/stratumiops/shared/platform/invoke"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

func devCommand() *cobra.Command {
	var cfg devstack.Config
	var endpointsFile, logFile string
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run every system locally: NATS, SurrealDB, all functions behind their gateways",
		Long: `Starts the whole of StratumIOps on 127.0.0.1 with no docker and no cloud account:
embedded NATS with JetStream, a supervised local SurrealDB (data under --data-dir),
every catalog function in-process behind one HTTP gateway per system (or, with
--lambda-runtime, the real bootstrap binaries under the Lambda runtime interface
emulator), the Lambda Invoke API, the NATS → consumer dispatcher and local-kms.
Ctrl-C stops everything cleanly.

SURREAL_URL and NATS_URL, when set, point it at external servers instead.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			logOut := io.Writer(os.Stderr)
			if logFile != "" {
				f, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
				if err != nil {
					return fmt.Errorf("log file: %w", err)
				}
				defer f.Close()
				logOut = f
			}
			cfg.Log = obs.NewLogger(logOut, "")
			stack, err := devstack.Start(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer stack.Close()
			if endpointsFile != "" {
				if err := stack.WriteEndpoints(endpointsFile); err != nil {
					return err
				}
			}
			if cfg.InsecureBind && !invoke.LoopbackHost(cfg.Host) {
				fmt.Fprintf(cmd.ErrOrStderr(), "WARNING: %s (--host %s --insecure-bind)\n\n", devstack.ExposedWarning, cfg.Host)
			}
			printEndpoints(cmd.OutOrStdout(), stack.Endpoints())
			<-cmd.Context().Done()
			fmt.Fprintln(cmd.OutOrStdout(), "stopping…")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data-dir", ".stratum", "where SurrealDB and JetStream keep their data")
	f.BoolVar(&cfg.Memory, "mem", false, "keep all data in temporary directories (lost on exit)")
	f.StringVar(&cfg.SurrealEngine, "surreal-engine", "rocksdb", "storage engine of the local SurrealDB: rocksdb, or surrealkv / mem (these lose concurrent updates; need --allow-lost-updates)")
	f.BoolVar(&cfg.AllowLostUpdates, "allow-lost-updates", false, "start the local SurrealDB on surrealkv or mem even though they lose concurrent updates (a throw-away demo only)")
	f.StringVar(&cfg.SurrealURL, "surreal-url", os.Getenv("SURREAL_URL"), "use this SurrealDB instead of starting one")
	f.StringVar(&cfg.NATSURL, "nats-url", os.Getenv("NATS_URL"), "use this NATS instead of starting one")
	f.StringVar(&cfg.Host, "host", "127.0.0.1", "address to bind; a non-loopback one needs --insecure-bind")
	f.BoolVar(&cfg.InsecureBind, "insecure-bind", false, "allow a non-loopback --host, exposing SurrealDB (root/root), NATS (no auth) and every API (dev key) to the network; the Lambda Invoke API stays on 127.0.0.1")
	f.BoolVar(&cfg.EphemeralPorts, "ephemeral-ports", false, "bind every listener to a free port")
	f.BoolVar(&cfg.LambdaRuntime, "lambda-runtime", false, "run the real bootstrap binaries under the Lambda runtime interface emulator")
	f.BoolVar(&cfg.FaultInjection, "fault-injection", false, "let consumers fail on the Stratum-Fault-Fail-Attempts header (e2e tests)")
	f.DurationVar(&cfg.RetryBase, "retry-base", time.Second, "first redelivery delay of a failed consumer; doubles per attempt")
	f.DurationVar(&cfg.ScheduleEvery, "schedule-every", 0, "run scheduled functions at this period instead of their catalog schedule (e.g. 2s)")
	f.DurationVar(&cfg.BackupEvery, "vault-backup-every", 0, "take the vault's scheduled backup (a snapshot into <data-dir>/vault-backups) at this period instead of hourly; --schedule-every leaves it alone")
	f.StringVar(&endpointsFile, "endpoints-file", "", "write the endpoints as JSON to this file once ready")
	f.StringVar(&logFile, "log-file", "", "append logs here instead of stderr")
	return cmd
}

func printEndpoints(w io.Writer, e devstack.Endpoints) {
	fmt.Fprintf(w, "StratumIOps devstack ready in %s (%d functions)\n\n", time.Duration(e.StartupMillis)*time.Millisecond, e.Functions)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "WHAT\tWHERE\tNOTES")
	systems := make([]string, 0, len(e.Gateways))
	for s := range e.Gateways {
		systems = append(systems, s)
	}
	sort.Strings(systems)
	for _, s := range systems {
		var names []string
		for _, f := range catalog.OfSystem(s) {
			if f.Kind == catalog.HTTP {
				names = append(names, f.Name)
			}
		}
		extra := ""
		for _, site := range catalog.SitesOf(s) {
			extra += ", web page " + site.Prefix
		}
		for _, ws := range catalog.WebSocketsOf(s) {
			extra += ", WebSocket " + ws.Path + " (" + ws.Function + ") with /@connections"
		}
		fmt.Fprintf(tw, "%s API\t%s\t%s; /health/ready, /metrics%s\n", s, e.Gateways[s], strings.Join(names, ", "), extra)
	}
	mode := "functions in-process"
	if e.LambdaRuntime {
		mode = "bootstrap binaries under aws-lambda-rie"
	}
	fmt.Fprintf(tw, "Lambda Invoke API\t%s\tAWS SDK: lambda BaseEndpoint; %s\n", e.Invoke, mode)
	fmt.Fprintf(tw, "KMS (local-kms)\t%s\tunseal key %s\n", e.KMS, e.KMSKey)
	if e.ProvisioningEC2 != "" {
		fmt.Fprintf(tw, "EC2 (local)\t%s\tQuery API for the aws provider, region %s; /_stratum/calls\n", e.ProvisioningEC2, devstack.DevEC2Region)
	}
	if e.ProvisioningUpCloud != "" {
		fmt.Fprintf(tw, "UpCloud (local)\t%s\tAPI 1.3 for the upcloud provider; /_stratum/calls\n", e.ProvisioningUpCloud)
	}
	if e.APIKey != "" {
		fmt.Fprintf(tw, "API key (dev)\tX-API-Key: %s\tscopes %s; JWTs: HS256 with $API_JWT_SECRET or the devstack's, iss stratumiops/<system>, aud <system>\n",
			e.APIKey, strings.Join(devstack.DevAPIKeyScopes, ", "))
	}
	fmt.Fprintf(tw, "NATS JetStream\t%s\t%s\n", e.NATS, orExternal(e.NATSStore))
	fmt.Fprintf(tw, "SurrealDB\t%s\t%s (ns portfolio, user root)\n", e.Surreal, e.SurrealStorage)
	_ = tw.Flush()
	if p, ok := e.Gateways["portfolio"]; ok && e.APIKey != "" {
		fmt.Fprintf(w, "\nTry:\n  curl -s -X POST %s/executions -H 'X-API-Key: %s' \\\n"+
			"    -d '{\"project\":\"demo\",\"scope\":\"demo\",\"source\":\"vapora\",\"task_type\":\"build\",\"status\":\"success\",\"duration_ms\":1200}'\n"+
			"  curl -s '%s/executions?project=demo' -H 'X-API-Key: %s'\n", p, e.APIKey, p, e.APIKey)
	}
	if v, ok := e.Gateways["vapora"]; ok && e.APIKey != "" {
		fmt.Fprintf(w, "  curl -s -X POST %s/projects -H 'X-API-Key: %s' -d '{\"name\":\"website\",\"scope\":\"demo\"}'\n", v, e.APIKey)
	}
	fmt.Fprintln(w, "\nCtrl-C to stop.")
}

func orExternal(store string) string {
	if store == "" {
		return "external"
	}
	return "store " + store
}
