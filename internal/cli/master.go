package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/decnet/decnet/internal/master"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/output"
	"github.com/decnet/decnet/internal/web"
)

type masterFlags struct {
	cfg       master.Config
	logLevel  string
	logJSON   bool
	advertise string
	api       string
	metrics   string
	outFile   string
	outSyslog string
	syslogTLS bool
	outHook   string
	hookKey   string
	outCA     string
	outCert   string
	outKey    string
	retention time.Duration
}

// outputs returns the SIEM outputs named on the command line, validated.
// The master's output manager runs them beside the ones made through the
// API; each is its own durable consumer of the bus.
func (f *masterFlags) outputs() ([]output.Config, error) {
	var cfgs []output.Config
	// The CA and client certificate files apply where TLS is used.
	tlsFiles := func(c output.Config) output.Config {
		c.CA, c.Cert, c.Key = f.outCA, f.outCert, f.outKey
		return c
	}
	if f.outFile != "" {
		cfgs = append(cfgs, output.Config{Name: "file", Kind: output.KindFile, Path: f.outFile})
	}
	if f.outSyslog != "" {
		c := output.Config{Name: "syslog", Kind: output.KindSyslog, Address: f.outSyslog, TLS: f.syslogTLS}
		if f.syslogTLS {
			c = tlsFiles(c)
		}
		cfgs = append(cfgs, c)
	}
	if f.outHook != "" {
		c := output.Config{Name: "webhook", Kind: output.KindWebhook, URL: f.outHook, Secret: f.hookKey}
		if strings.HasPrefix(f.outHook, "https://") {
			c = tlsFiles(c)
		}
		cfgs = append(cfgs, c)
	}
	for _, c := range cfgs {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("output %s: %w", c.Name, err)
		}
	}
	return cfgs, nil
}

func (f *masterFlags) bind(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.cfg.DataDir, "data", "/var/lib/decnet/master", "data directory: CA, certificates, SQLite database, bus storage")
	fl.StringVar(&f.cfg.DB, "db", "", "PostgreSQL URL (postgres://...); default SQLite in the data directory")
	fl.StringVar(&f.cfg.AgentListen, "agents-listen", ":7946", "address agents enroll and heartbeat on (mutual TLS)")
	fl.StringVar(&f.cfg.NATSListen, "nats-listen", "127.0.0.1:4222", "address of the embedded event bus (TLS with the CA when not loopback)")
	fl.StringVar(&f.cfg.NATSURL, "nats-url", "", "use an external NATS cluster instead of the embedded bus")
	fl.StringSliceVar(&f.cfg.Addresses, "address", nil, "extra DNS names or IPs of this master for its certificate")
	fl.StringVar(&f.advertise, "advertise", "", "host:port agents reach the agent listener on (for printed join commands)")
	fl.StringVar(&f.api, "api-listen", "127.0.0.1:8443", "address of the HTTPS operator API")
	fl.StringVar(&f.metrics, "metrics-listen", "127.0.0.1:9464", "management address serving Prometheus /metrics")
	fl.DurationVar(&f.retention, "retention", 90*24*time.Hour, "delete stored events older than this (0 keeps everything); attacker and credential summaries stay")
	fl.StringVar(&f.outFile, "output-file", "", "also write every event as JSON lines to this file")
	fl.StringVar(&f.outSyslog, "output-syslog", "", "also send every event as RFC 5424 syslog (octet-counted) to this host:port")
	fl.BoolVar(&f.syslogTLS, "output-syslog-tls", false, "use TLS (RFC 5425) for --output-syslog")
	fl.StringVar(&f.outHook, "output-webhook", "", "also POST event batches to this URL, signed with --webhook-secret")
	fl.StringVar(&f.hookKey, "webhook-secret", "", "HMAC-SHA256 key of --output-webhook (16+ bytes)")
	fl.StringVar(&f.outCA, "output-tls-ca", "", "PEM CA certificates verifying the --output-syslog-tls receiver and an https --output-webhook (default: system roots)")
	fl.StringVar(&f.outCert, "output-tls-cert", "", "PEM client certificate for --output-syslog-tls and an https --output-webhook (with --output-tls-key)")
	fl.StringVar(&f.outKey, "output-tls-key", "", "PEM private key of --output-tls-cert")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.BoolVar(&f.logJSON, "log-json", false, "log as JSON lines")
}

func newMasterCmd() *cobra.Command {
	var f masterFlags
	cmd := &cobra.Command{
		Use:   "master",
		Short: "Run the master: the authority, its database, the event bus and ingestion",
		Long: `Run the master. On first start it creates a certificate authority in the
data directory. It opens the database (SQLite in the data directory, or
PostgreSQL with --db), starts the embedded NATS JetStream bus (or uses
--nats-url), ingests every event into the database, and serves agent
enrollment and heartbeats over mutual TLS.`,
		Example: `  decnet master --data /var/lib/decnet/master
  decnet master --db postgres://decnet@db/decnet --nats-url nats://nats-1:4222
  decnet swarm join-token --data /var/lib/decnet/master --name sensor-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.cfg.Log = newLogger(cmd.ErrOrStderr(), f.logLevel, f.logJSON)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			m, l, apiURL, password, errc, err := startMaster(ctx, &f)
			if err != nil {
				return err
			}
			defer m.Close()
			if password != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "\nFirst start: the admin password is %s\n(shown once; you must change it at first login)\n\n", password)
			}
			f.cfg.Log.Info("master running", "data", f.cfg.DataDir, "dashboard", apiURL, "api", apiURL+"api/v1", "agents", l.Addr().String(), "ca_hash", m.CA.Hash())
			select {
			case <-ctx.Done():
				return nil
			case err := <-errc:
				return err
			}
		},
	}
	f.bind(cmd)
	return cmd
}

// startMaster opens the master, starts its bus and listens for agents,
// then starts its services (runMaster). The caller closes the master.
func startMaster(ctx context.Context, f *masterFlags) (*master.Master, net.Listener, string, string, <-chan error, error) {
	m, err := master.Open(ctx, f.cfg)
	if err != nil {
		return nil, nil, "", "", nil, err
	}
	fail := func(err error) (*master.Master, net.Listener, string, string, <-chan error, error) {
		m.Close()
		return nil, nil, "", "", nil, err
	}
	if err := m.StartBus(ctx); err != nil {
		return fail(err)
	}
	l, err := net.Listen("tcp", f.cfg.AgentListen)
	if err != nil {
		return fail(fmt.Errorf("listen for agents on %s: %w", f.cfg.AgentListen, err))
	}
	// A port chosen by the kernel (decnet up) is the one join commands must
	// name.
	if _, port, err := net.SplitHostPort(f.cfg.AgentListen); err == nil && port == "0" {
		m.Config.AgentListen = l.Addr().String()
	}
	url, password, errc, err := runMaster(ctx, m, f, l)
	if err != nil {
		l.Close()
		return fail(err)
	}
	return m, l, url, password, errc, nil
}

// runMaster starts the master's services on their listeners: ingester,
// reconciler, agent API, operator API with the dashboard beside it,
// retention, outputs and metrics. It returns the dashboard's URL (the API
// is under /api/v1), the generated admin password on first start, and a
// channel that receives the first service error.
func runMaster(ctx context.Context, m *master.Master, f *masterFlags, agents net.Listener) (string, string, <-chan error, error) {
	a, err := m.NewAPI()
	if err != nil {
		return "", "", nil, err
	}
	a.Mount(m.Routes()...)
	dash, err := web.New(web.Options{API: a, Store: m.Store, Blobs: m.Artifacts, Outputs: m.Outputs, Logger: f.cfg.Log})
	if err != nil {
		return "", "", nil, err
	}
	handler := http.NewServeMux()
	handler.Handle(api.Prefix+"/", a.Handler())
	handler.Handle("/", dash.Handler())
	password, created, err := api.Bootstrap(ctx, m.Store)
	if err != nil {
		return "", "", nil, err
	}
	if !created {
		password = ""
	}
	apiL, err := net.Listen("tcp", f.api)
	if err != nil {
		return "", "", nil, fmt.Errorf("listen for the API on %s: %w", f.api, err)
	}
	metricsL, err := net.Listen("tcp", f.metrics)
	if err != nil {
		apiL.Close()
		return "", "", nil, fmt.Errorf("listen for metrics on %s: %w", f.metrics, err)
	}
	outs, err := f.outputs()
	if err != nil {
		apiL.Close()
		metricsL.Close()
		return "", "", nil, err
	}
	errc := make(chan error, 7)
	ing := master.NewIngester(m.Store, f.cfg.Log)
	ing.OnBatch = a.RecordIngest
	go func() { <-ctx.Done(); a.Close() }()
	go func() { errc <- ing.Run(ctx, m.JS) }()
	go func() { errc <- m.Outputs.Run(ctx, m.JS, outs) }()
	go func() { errc <- m.Reconciler.Run(ctx, 2*time.Second) }()
	go func() { errc <- master.RunRetention(ctx, m.Store, m.Artifacts, f.retention, time.Hour, f.cfg.Log) }()
	go func() { errc <- m.ServeAgents(ctx, agents) }()
	go func() { errc <- m.ServeAPI(ctx, apiL, handler) }()
	go func() { errc <- m.ServeMetrics(ctx, metricsL, a.MetricsHandler()) }()
	return "https://" + apiL.Addr().String() + "/", password, errc, nil
}

func newSwarmCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "swarm", Short: "Manage the hosts that run deckies"}
	var f masterFlags
	var name string
	var ttl time.Duration
	var asJSON bool
	join := &cobra.Command{
		Use:     "join-token",
		Short:   "Make a single-use, expiring token for a new agent and print its join command",
		Example: `  decnet swarm join-token --data /var/lib/decnet/master --name sensor-1 --advertise master.example:7946`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return errors.New("--name is required (the new host's id)")
			}
			ctx := context.Background()
			m, err := master.Open(ctx, f.cfg)
			if err != nil {
				return err
			}
			defer m.Close()
			token, expires, err := m.Authority.NewJoinToken(ctx, name, ttl)
			if err != nil {
				return err
			}
			addr := f.advertise
			if addr == "" {
				addr = "MASTER-ADDRESS" + f.cfg.AgentListen
			}
			join := fmt.Sprintf("decnet agent join --master %s --token %s --ca-hash %s --dir /var/lib/decnet/agent", addr, token, m.CA.Hash())
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), map[string]any{"host": name, "token": token, "ca_hash": m.CA.Hash(), "expires_at": expires, "command": join})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Join token for %s (single use, expires %s):\n\n  %s\n", name, expires.Format(time.RFC3339), join)
			return nil
		},
	}
	f.bind(join)
	join.Flags().StringVar(&name, "name", "", "id of the new host (lowercase letters, digits, '-')")
	join.Flags().DurationVar(&ttl, "ttl", master.JoinTokenTTL, "how long the token stays usable")
	join.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(join, newSwarmHostsCmd())
	return cmd
}

// Liveness of a host from the age of its last heartbeat: never probed.
func liveness(last *time.Time, now time.Time) string {
	switch {
	case last == nil:
		return "never seen"
	case now.Sub(*last) <= 3*agentHeartbeat:
		return "alive"
	default:
		return "stale"
	}
}

const agentHeartbeat = 10 * time.Second

func newSwarmHostsCmd() *cobra.Command {
	var f masterFlags
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "hosts",
		Short:   "List enrolled hosts with their liveness (from heartbeat age) and applied topology",
		Example: "  decnet swarm hosts --data /var/lib/decnet/master --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := context.Background()
			m, err := master.Open(ctx, f.cfg)
			if err != nil {
				return err
			}
			defer m.Close()
			hosts, err := m.Store.ListHosts(ctx)
			if err != nil {
				return err
			}
			now := time.Now()
			if asJSON {
				out := make([]map[string]any, 0, len(hosts))
				for _, h := range hosts {
					out = append(out, map[string]any{"host": h, "liveness": liveness(h.LastHeartbeat, now)})
				}
				return writeJSON(cmd.OutOrStdout(), out)
			}
			var rows [][]string
			for _, h := range hosts {
				last := "-"
				if h.LastHeartbeat != nil {
					last = now.Sub(*h.LastHeartbeat).Round(time.Second).String() + " ago"
				}
				rows = append(rows, []string{h.ID, liveness(h.LastHeartbeat, now), last, h.AppliedID, h.LastError})
			}
			return table(cmd.OutOrStdout(), "HOST\tLIVENESS\tLAST HEARTBEAT\tAPPLIED\tLAST ERROR", rows)
		},
	}
	f.bind(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
