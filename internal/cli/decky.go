package cli

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/cloak"
	"github.com/decnet/decnet/internal/decky"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/topology"
)

func newDeckyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "decky",
		Short: "The decky runtime (runs inside each decky's container)",
	}
	var specFile, specEnv, name, logLevel, spool string
	var memLimit int64
	run := &cobra.Command{
		Use:   "run",
		Short: "Run every service of one decky in the foreground",
		Long: `Run every service of one decky on its addresses, as its persona, until
SIGTERM or SIGINT. The Docker driver starts this in each decky container
with the decky's part of the spec in an environment variable; the host
driver runs the same code in-process.`,
		Example: `  decnet decky run --spec lab.yaml --decky web-01
  decnet decky run --spec-env DECNET_DECKY_SPEC --decky web-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var data []byte
			var err error
			switch {
			case specFile != "" && specEnv != "":
				return errors.New("--spec and --spec-env exclude each other")
			case specFile != "":
				data, err = readFileLimited(specFile, topology.MaxSpecSize+1)
			case specEnv != "":
				data, err = base64.StdEncoding.DecodeString(os.Getenv(specEnv))
			default:
				return errors.New("pass --spec FILE or --spec-env VAR")
			}
			if err != nil {
				return fmt.Errorf("read spec: %w", err)
			}
			spec, err := topology.DecodeBytes(data)
			if err != nil {
				return err
			}
			log := newLogger(cmd.ErrOrStderr(), logLevel, true)
			// A decky is hostile-facing: cap its heap so no attacker input
			// can grow it past its container's memory limit.
			debug.SetMemoryLimit(memLimit)
			// A decky allocates per request and keeps little: collecting
			// at five times the live heap rather than twice serves a flood
			// about a fifth more requests a second (docs/benchmarks.md)
			// for a few MiB, still under the limit above. GOGC wins.
			if os.Getenv("GOGC") == "" {
				debug.SetGCPercent(400)
			}
			rt, err := decky.New(spec, name, decky.Options{SpoolDir: spool, Log: log, LiveFile: filepath.Join(spool, decky.LiveFileName)})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return rt.Run(ctx)
		},
	}
	run.Flags().StringVar(&specFile, "spec", "", "topology spec file")
	run.Flags().StringVar(&specEnv, "spec-env", "", "environment variable holding the spec as base64 JSON")
	run.Flags().StringVar(&name, "decky", "", "name of the decky to run")
	run.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	run.Flags().StringVar(&spool, "spool", "/var/lib/decnet/spool", "directory of the decky's event spool and quarantine")
	run.Flags().Int64Var(&memLimit, "memory-limit", 192<<20, "soft heap limit in bytes")
	_ = run.MarkFlagRequired("decky")
	cmd.AddCommand(run, newCloakCmd())
	return cmd
}

func newCloakCmd() *cobra.Command {
	var family, netns, logLevel string
	c := &cobra.Command{
		Use:   "cloak",
		Short: "Rewrite a decky's packets so its TCP/IP stack fingerprints as its OS family",
		Long: `Run the packet cloak of an OS family in a network namespace (the
caller's, or --netns) until SIGTERM or SIGINT: nftables rules send the
packets to rewrite to a netfilter queue, and the cloak gives them back as
the family's stack would have sent them (see docs/realism.md). It needs
CAP_NET_ADMIN and CAP_NET_RAW in the namespace. The Docker driver runs it
in a companion container in each decky's namespace; when it stops, the
decky keeps answering with its plain Linux stack (the queue fails open).`,
		Example: `  decnet decky cloak --family windows
  decnet decky cloak --family cisco --netns /run/netns/rtr-01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, ok := cloak.Lookup(persona.Family(family))
			if !ok {
				return fmt.Errorf("no cloak for OS family %q (families: %v)", family, cloak.Families())
			}
			log := newLogger(cmd.ErrOrStderr(), logLevel, true)
			ck, err := cloak.Start(cloak.Config{Profile: p, NetNS: netns, Logger: log})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return ck.Close()
				case <-tick.C:
					if err := ck.Err(); err != nil {
						ck.Close()
						return err
					}
				}
			}
		},
	}
	c.Flags().StringVar(&family, "family", "", "OS family: "+fmt.Sprint(cloak.Families()))
	c.Flags().StringVar(&netns, "netns", "", "network namespace file to enter (default: the caller's)")
	c.Flags().StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	_ = c.MarkFlagRequired("family")
	return c
}
