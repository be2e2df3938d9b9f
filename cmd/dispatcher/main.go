// Command dispatcher is the Fargate image's NATS → Lambda bridge: the bus, the
// catalog and the Lambda client only (package dispatcher). `stratum
// dispatch` runs the same code.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/stratumiops/stratumiops/shared/platform/dispatcher"
	"github.com/stratumiops/stratumiops/shared/platform/obs"
)

func main() {
	var cfg dispatcher.Config
	var probe string
	fs := flag.NewFlagSet("dispatcher", flag.ExitOnError)
	dispatcher.Flags(fs, &cfg, &probe)
	_ = fs.Parse(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if probe != "" {
		err = dispatcher.Probe(ctx, probe)
	} else {
		err = dispatcher.Run(ctx, cfg, obs.NewLogger(os.Stderr, "dispatcher"))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "dispatcher:", err)
		os.Exit(1)
	}
}
