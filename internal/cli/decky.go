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

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/decky"
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
	cmd.AddCommand(run)
	return cmd
}
