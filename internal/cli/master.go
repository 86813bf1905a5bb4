package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
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
	outFile   string
	outSyslog string
	syslogTLS bool
	syslogFmt string
	syslogRLP bool
	outHook   string
	hookKey   string
	hookLocal bool
	outCA     string
	outCert   string
	outKey    string
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
		c := output.Config{Name: "syslog", Kind: output.KindSyslog, Address: f.outSyslog, TLS: f.syslogTLS, Format: f.syslogFmt, RELP: f.syslogRLP}
		if f.syslogTLS {
			c = tlsFiles(c)
		}
		cfgs = append(cfgs, c)
	}
	if f.outHook != "" {
		c := output.Config{Name: "webhook", Kind: output.KindWebhook, URL: f.outHook, Secret: f.hookKey, AllowPrivate: f.hookLocal}
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
	fl.StringVar(&f.cfg.APIListen, "api-listen", "127.0.0.1:8443", "address of the HTTPS operator API")
	fl.StringVar(&f.cfg.MetricsListen, "metrics-listen", "127.0.0.1:9464", "management address serving Prometheus /metrics")
	fl.DurationVar(&f.cfg.Retention, "retention", 90*24*time.Hour, "delete stored events older than this (0 keeps everything); attacker and credential summaries stay")
	fl.StringVar(&f.cfg.GeoCity, "geoip-city", "", "MaxMind-format city or country database (GeoLite2-City.mmdb, dbip-city-lite.mmdb) enriching attacker addresses; read again when it changes; absent means no enrichment")
	fl.StringVar(&f.cfg.GeoASN, "geoip-asn", "", "MaxMind-format AS database (GeoLite2-ASN.mmdb, dbip-asn-lite.mmdb) enriching attacker addresses")
	fl.DurationVar(&f.cfg.GeoReload, "geoip-reload", time.Minute, "how often the GeoIP database files are checked for a change")
	fl.BoolVar(&f.cfg.ReverseDNS, "reverse-dns", false, "look attacker addresses up in the reverse DNS (off by default: the query may reach a name server the attacker runs)")
	fl.StringVar(&f.outFile, "output-file", "", "also write every event as JSON lines to this file")
	fl.StringVar(&f.outSyslog, "output-syslog", "", "also send every event as RFC 5424 syslog (octet-counted) to this host:port")
	fl.BoolVar(&f.syslogTLS, "output-syslog-tls", false, "use TLS (RFC 5425) for --output-syslog")
	fl.BoolVar(&f.syslogRLP, "output-syslog-relp", false, "send --output-syslog over RELP (rsyslog's imrelp: every message acknowledged, none lost when the receiver restarts)")
	fl.StringVar(&f.syslogFmt, "output-syslog-format", "rfc5424", "message format of --output-syslog: rfc5424 (the JSON document), cef (ArcSight) or leef (QRadar)")
	fl.StringVar(&f.outHook, "output-webhook", "", "also POST event batches to this URL, signed with --webhook-secret")
	fl.StringVar(&f.hookKey, "webhook-secret", "", "HMAC-SHA256 key of --output-webhook (16+ bytes)")
	fl.BoolVar(&f.hookLocal, "output-webhook-allow-private", false, "let --output-webhook deliver to loopback, link-local and private addresses (refused by default)")
	fl.StringVar(&f.outCA, "output-tls-ca", "", "PEM CA certificates verifying the --output-syslog-tls receiver and an https --output-webhook (default: system roots)")
	fl.StringVar(&f.outCert, "output-tls-cert", "", "PEM client certificate for --output-syslog-tls and an https --output-webhook (with --output-tls-key)")
	fl.StringVar(&f.outKey, "output-tls-key", "", "PEM private key of --output-tls-cert")
	fl.StringVar(&f.cfg.Canary.Listen, "canary-listen", "", "address of the canary token HTTP listener (an nginx look-alike; expose it where stolen documents would call home); empty serves none")
	fl.StringVar(&f.cfg.Canary.URL, "canary-url", "", "base URL token URLs carry, as victims reach --canary-listen (default http://<canary-listen>)")
	fl.StringVar(&f.cfg.Canary.DNSListen, "canary-dns-listen", "", "UDP address of the canary token DNS listener, authoritative for --canary-zone; empty serves none")
	fl.StringVar(&f.cfg.Canary.Zone, "canary-zone", "", "DNS zone of DNS tokens (delegate it to --canary-dns-listen with an NS record)")
	fl.StringVar(&f.cfg.Canary.DNSAddr, "canary-dns-address", "", "IPv4 address token names resolve to (default: the DNS listener's)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.BoolVar(&f.logJSON, "log-json", false, "log as JSON lines")
}

func newMasterCmd() *cobra.Command {
	cmd := masterCmd()
	cmd.AddCommand(newSettingsCmd("MASTER", masterCmd))
	return cmd
}

func masterCmd() *cobra.Command {
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
  decnet master --config /etc/decnet/master.yaml
  DECNET_MASTER_API_LISTEN=:8443 decnet master
  decnet master --db postgres://decnet@db/decnet --nats-url nats://nats-1:4222
  decnet swarm join-token --data /var/lib/decnet/master --name sensor-1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			m, err := startMaster(ctx, cmd.ErrOrStderr(), &f)
			if err != nil {
				return err
			}
			defer m.Close()
			if pw := m.AdminPassword(); pw != "" {
				fmt.Fprintf(cmd.ErrOrStderr(), "\nFirst start: the admin password is %s\n(shown once; you must change it at first login)\n\n", pw)
			}
			return m.Run(ctx)
		},
	}
	f.bind(cmd)
	bindSettings(cmd, "MASTER", "webhook-secret")
	return cmd
}

// startMaster opens and starts a master from the flags, with the
// dashboard beside its API. The caller runs and closes it.
func startMaster(ctx context.Context, logTo io.Writer, f *masterFlags) (*master.Master, error) {
	f.cfg.Log = newLogger(logTo, f.logLevel, f.logJSON)
	f.cfg.Version = versionString()
	outs, err := f.outputs()
	if err != nil {
		return nil, err
	}
	f.cfg.Outputs = outs
	f.cfg.Dashboard = dashboard
	m, err := master.Open(ctx, f.cfg)
	if err != nil {
		return nil, err
	}
	if err := m.Start(ctx); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// dashboard builds the web UI over the master's API.
func dashboard(m *master.Master, a *api.Server) (http.Handler, error) {
	d, err := web.New(web.Options{API: a, Store: m.Store, Blobs: m.Artifacts, Outputs: m.Outputs, Tokens: m, Logger: m.Config.Log,
		OverviewTTL: master.OverviewTTL})
	if err != nil {
		return nil, err
	}
	return d.Handler(), nil
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
			return f.inMaster(ctx, func(m *master.Master) error {
				token, expires, err := m.Authority.NewJoinToken(ctx, name, ttl)
				if err != nil {
					return coded(err)
				}
				addr := f.advertise
				if addr == "" {
					addr = m.AgentAddress()
				}
				join := master.JoinCommand(addr, token, m.CA.Hash())
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), map[string]any{"host": name, "token": token, "ca_hash": m.CA.Hash(), "expires_at": expires, "command": join})
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Join token for %s (single use, expires %s):\n\n  %s\n", name, expires.Format(time.RFC3339), join)
				return nil
			})
		},
	}
	f.bind(join)
	join.Flags().StringVar(&name, "name", "", "id of the new host (lowercase letters, digits, '-')")
	join.Flags().DurationVar(&ttl, "ttl", master.JoinTokenTTL, "how long the token stays usable")
	join.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(join, newSwarmHostsCmd(), newSwarmUpdateCmd())
	return cmd
}

func newSwarmUpdateCmd() *cobra.Command {
	var f masterFlags
	var hosts []string
	var all, cancel, asJSON bool
	cmd := &cobra.Command{
		Use:   "update",
		Short: "Ask agents to run the master's build: each fetches it, checks its SHA-256, switches, and goes back on its own if it cannot heartbeat",
		Long: `Ask one agent (--host, repeatable) or every live one (--all) to run the
build the master runs. On its next heartbeat the agent fetches it over
mutual TLS, checks its SHA-256, checks that it runs, switches to it and
restarts (same pid). If the new build cannot heartbeat within the agent's
--update-deadline it goes back to the old one and reports why; decnet
swarm hosts shows each agent's build and the outcome.`,
		Example: `  decnet swarm update --data /var/lib/decnet/master --host sensor-1
  decnet swarm update --data /var/lib/decnet/master --all
  decnet swarm update --data /var/lib/decnet/master --host sensor-1 --cancel`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if all == (len(hosts) > 0) {
				return errors.New("name the hosts with --host, or pass --all")
			}
			ctx := context.Background()
			return f.inMaster(ctx, func(m *master.Master) error {
				ids, err := master.RequestUpdate(ctx, m.Store, hosts, cancel)
				if err != nil {
					return err
				}
				b := m.Authority.Binary
				if b == nil {
					return errors.New("this master's build cannot be found; agents cannot be updated from it")
				}
				sum, _, err := b.Hash()
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(cmd.OutOrStdout(), master.UpdateResult{Hosts: ids, SHA256: sum, Version: b.Version})
				}
				verb := "asked to run"
				if cancel {
					verb = "no longer asked to run"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %s the master's build (this binary: %s, %s); decnet swarm hosts shows the outcome\n",
					strings.Join(ids, ", "), verb, b.Version, sum[:12])
				return nil
			})
		},
	}
	f.bind(cmd)
	cmd.Flags().StringSliceVar(&hosts, "host", nil, "host id to update (repeatable)")
	cmd.Flags().BoolVar(&all, "all", false, "update every live host")
	cmd.Flags().BoolVar(&cancel, "cancel", false, "withdraw the request instead")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

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
			return f.inMaster(ctx, func(m *master.Master) error {
				hosts, err := m.Store.ListHosts(ctx)
				if err != nil {
					return err
				}
				now := time.Now()
				if asJSON {
					out := make([]map[string]any, 0, len(hosts))
					for _, h := range hosts {
						out = append(out, map[string]any{"host": h, "liveness": master.Liveness(h.LastHeartbeat, now)})
					}
					return writeJSON(cmd.OutOrStdout(), out)
				}
				var rows [][]string
				for _, h := range hosts {
					last := "-"
					if h.LastHeartbeat != nil {
						last = now.Sub(*h.LastHeartbeat).Round(time.Second).String() + " ago"
					}
					build := h.Version
					switch {
					case h.UpdateRequested:
						build += " (update asked)"
					case h.UpdateError != "":
						build += " (" + h.UpdateError + ")"
					}
					rows = append(rows, []string{h.ID, master.Liveness(h.LastHeartbeat, now), last, build, h.AppliedID, h.LastError})
				}
				return table(cmd.OutOrStdout(), "HOST\tLIVENESS\tLAST HEARTBEAT\tBUILD\tAPPLIED\tLAST ERROR", rows)
			})
		},
	}
	f.bind(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
