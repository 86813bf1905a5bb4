package cli

import (
	"fmt"
	"io"
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
	var keep, verbose bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run everything on this machine: master, a local agent and a demo topology",
		Long: `Run DECNET on this machine in the foreground: the master (database,
event bus, API), a local agent enrolled automatically over a unix socket,
and a demo topology of four deckies (a web server, an SSH/Telnet gateway, a
database server and an IP camera). Deckies run as Docker containers when
the engine is reachable and this binary is static (CGO_ENABLED=0), and
in-process on loopback addresses otherwise (root binds their low ports).

It prints its progress on one line, then the API address, the admin
password (first start only) and commands to attack the deckies with. The
log goes to <data>/decnet.log; -v also prints it here. Ctrl-C tears the
demo down unless --keep is given.`,
		Example: `  sudo CGO_ENABLED=0 go run ./cmd/decnet up
  sudo decnet up --driver host --data /tmp/decnet
  sudo decnet up -v            # the log on stderr too`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			outs, err := f.outputs()
			if err != nil {
				return err
			}
			logFile, err := openUpLog(f.cfg.DataDir)
			if err != nil {
				return err
			}
			defer logFile.Close()
			var logTo io.Writer = logFile
			if verbose {
				logTo = io.MultiWriter(logFile, cmd.ErrOrStderr())
			}
			cfg := f.cfg
			cfg.Log, cfg.Outputs, cfg.Dashboard = newLogger(logTo, f.logLevel, f.logJSON), outs, dashboard
			cfg.Version = versionString()
			return up.Run(ctx, up.Config{Master: cfg, Driver: drv, Keep: keep, Version: versionString(), Out: cmd.OutOrStdout(),
				LogPath: logFile.Name(), Terminal: isTerminal(cmd.OutOrStdout())})
		},
	}
	f.bind(cmd)
	home, _ := os.UserHomeDir()
	cmd.Flags().Lookup("data").DefValue = filepath.Join(home, ".decnet")
	_ = cmd.Flags().Set("data", filepath.Join(home, ".decnet"))
	_ = cmd.Flags().Set("agents-listen", "127.0.0.1:0")
	_ = cmd.Flags().Set("nats-listen", "127.0.0.1:0")
	for k, v := range map[string]string{"canary-listen": "127.0.0.1:0", "canary-dns-listen": "127.0.0.1:0", "canary-zone": "tokens.decnet.internal"} {
		_ = cmd.Flags().Set(k, v)
		cmd.Flags().Lookup(k).DefValue = v
	}
	cmd.Flags().StringVar(&drv, "driver", "auto", "auto, docker or host")
	cmd.Flags().BoolVar(&keep, "keep", false, "leave the demo running after Ctrl-C")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print the log on stderr as well as to <data>/decnet.log")
	return cmd
}

// openUpLog opens <data>/decnet.log for appending: decnet up keeps its
// terminal for progress and the banner.
func openUpLog(dataDir string) (*os.File, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return os.OpenFile(filepath.Join(dataDir, "decnet.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
}
