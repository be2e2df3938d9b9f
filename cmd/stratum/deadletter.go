package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/stratumiops/stratumiops/localstack/devstack"
	"github.com/stratumiops/stratumiops/shared/platform/bus"
)

// deadletterCommand is `stratum deadletter list|redrive`: the events that a
// consumer could not process (the DEADLETTER stream), and sending them back.
func deadletterCommand() *cobra.Command {
	var natsURL string
	cmd := &cobra.Command{Use: "deadletter", Short: "List dead-lettered events and redrive them to their consumer",
		Long: "Reads the DEADLETTER stream of NATS (--nats-url, NATS_URL, or the devstack's). Authentication as the\n" +
			"dispatcher's: NATS_CREDS (a .creds file's content), NATS_CREDS_FILE or NATS_TOKEN."}
	cmd.PersistentFlags().StringVar(&natsURL, "nats-url", os.Getenv("NATS_URL"), "NATS server URL (default: the devstack's)")
	connect := func(cmd *cobra.Command) (*bus.Bus, error) {
		u := natsURL
		if u == "" {
			u = "nats://127.0.0.1:" + strconv.Itoa(devstack.DefaultNATSPort)
		}
		return bus.Connect(cmd.Context(), u, "stratum-deadletter", slog.New(slog.DiscardHandler))
	}
	var consumer string
	var limit int
	var asJSON bool
	list := &cobra.Command{Use: "list", Short: "List dead letters, oldest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := connect(cmd)
			if err != nil {
				return err
			}
			defer b.Close()
			dls, err := b.DeadLetters(cmd.Context(), consumer, limit)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(dls)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SEQ\tCONSUMER\tSUBJECT\tMSG ID\tATTEMPTS\tTIME\tERROR")
			for _, d := range dls {
				// quoted: subjects, ids and errors come from events and consumers, not from us
				fmt.Fprintf(tw, "%d\t%s\t%q\t%q\t%d\t%s\t%q\n", d.Sequence, d.Consumer, d.Subject, d.MsgID, d.Attempts,
					d.Time.UTC().Format("2006-01-02T15:04:05Z"), d.Error)
			}
			return tw.Flush()
		}}
	list.Flags().StringVar(&consumer, "consumer", "", "only this consumer's")
	list.Flags().IntVar(&limit, "limit", 100, "at most this many")
	list.Flags().BoolVar(&asJSON, "json", false, "JSON, with each event's data")
	var all bool
	redrive := &cobra.Command{Use: "redrive [seq...]", Short: "Send dead letters back to the consumer that failed them, and remove them from the list",
		RunE: func(cmd *cobra.Command, args []string) error {
			if all == (len(args) > 0) {
				return errors.New("name the dead letters' sequence numbers (stratum deadletter list), or --all")
			}
			b, err := connect(cmd)
			if err != nil {
				return err
			}
			defer b.Close()
			var seqs []uint64
			for _, a := range args {
				n, err := strconv.ParseUint(a, 10, 64)
				if err != nil || n == 0 {
					return fmt.Errorf("%q is not a dead letter's sequence number", a)
				}
				seqs = append(seqs, n)
			}
			if all {
				dls, err := b.DeadLetters(cmd.Context(), consumer, limit)
				if err != nil {
					return err
				}
				for _, d := range dls {
					seqs = append(seqs, d.Sequence)
				}
			}
			for _, seq := range seqs {
				d, err := b.Redrive(cmd.Context(), seq)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "redriven %d: %s → %s\n", seq, d.Subject, d.Consumer)
			}
			return nil
		}}
	redrive.Flags().BoolVar(&all, "all", false, "every dead letter (of --consumer, if given)")
	redrive.Flags().StringVar(&consumer, "consumer", "", "with --all: only this consumer's")
	redrive.Flags().IntVar(&limit, "limit", 1000, "with --all: at most this many")
	cmd.AddCommand(list, redrive)
	return cmd
}
