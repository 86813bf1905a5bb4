package cli

import (
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/decnet/decnet/internal/up"
	"github.com/spf13/cobra"
)

func newUpCmd() *cobra.Command {
	var f masterFlags
	var drv string
	var keep bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run everything on this machine: master, a local agent and a demo topology",
		Long: `Run DECNET on this machine in the foreground: the master (database,
event bus, API), a local agent enrolled automatically over a unix socket,
and a demo topology of four deckies (a web server, an SSH/Telnet gateway, a
database server and an IP camera). Deckies run as Docker containers when
the engine is reachable and this binary is static (CGO_ENABLED=0), and
in-process on loopback addresses otherwise (root binds their low ports).

It prints the API address, the admin password (first start only) and
commands to attack the deckies with. Ctrl-C tears the demo down unless
--keep is given.`,
		Example: `  sudo CGO_ENABLED=0 go run ./cmd/decnet up
  sudo decnet up --driver host --data /tmp/decnet`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			outs, err := f.outputs()
			if err != nil {
				return err
			}
			cfg := f.cfg
			cfg.Log, cfg.Outputs, cfg.Dashboard = newLogger(cmd.ErrOrStderr(), f.logLevel, f.logJSON), outs, dashboard
			return up.Run(ctx, up.Config{Master: cfg, Driver: drv, Keep: keep, Version: versionString(), Out: cmd.OutOrStdout()})
		},
	}
	f.bind(cmd)
	home, _ := os.UserHomeDir()
	cmd.Flags().Lookup("data").DefValue = filepath.Join(home, ".decnet")
	_ = cmd.Flags().Set("data", filepath.Join(home, ".decnet"))
	_ = cmd.Flags().Set("agents-listen", "127.0.0.1:0")
	_ = cmd.Flags().Set("nats-listen", "127.0.0.1:0")
	cmd.Flags().StringVar(&drv, "driver", "auto", "auto, docker or host")
	cmd.Flags().BoolVar(&keep, "keep", false, "leave the demo running after Ctrl-C")
	return cmd
}
