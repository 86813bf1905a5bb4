package master

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/sync/errgroup"

	"github.com/decnet/decnet/internal/bus"
	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/intel"
	"github.com/decnet/decnet/internal/intel/alert"
	"github.com/decnet/decnet/internal/intel/attack"
	"github.com/decnet/decnet/internal/intel/correlate"
	"github.com/decnet/decnet/internal/intel/geo"
	"github.com/decnet/decnet/internal/intel/honey"
	"github.com/decnet/decnet/internal/intel/taxii"
	"github.com/decnet/decnet/internal/master/api"
	"github.com/decnet/decnet/internal/output"
	"github.com/decnet/decnet/internal/pki"
	"github.com/decnet/decnet/internal/store"
	"github.com/decnet/decnet/internal/store/postgres"
	"github.com/decnet/decnet/internal/store/sqlite"
)

// Config is how a master runs. Paths are under DataDir unless absolute.
type Config struct {
	DataDir string
	// DB is "" (SQLite at DataDir/master.db) or a postgres:// URL.
	DB string
	// AgentListen serves enrollment and heartbeats (mutual TLS).
	AgentListen string
	// NATSListen serves the embedded bus (TLS with the PKI when not on
	// loopback); ignored when NATSURL names an external cluster.
	NATSListen string
	NATSURL    string
	// Addresses are extra DNS names and IPs in the master's certificate
	// (agents verify the role, not the name, but other clients may not).
	Addresses []string
	// APIListen serves the operator API and the dashboard over HTTPS.
	APIListen string
	// MetricsListen serves Prometheus /metrics; "" serves none.
	MetricsListen string
	// Retention deletes stored events older than this (0 keeps them).
	Retention time.Duration
	// Outputs are SIEM outputs given on the command line, validated.
	Outputs []output.Config
	// GeoCity and GeoASN are MaxMind-format databases (GeoLite2-City or
	// -Country and GeoLite2-ASN, or DB-IP's lite editions) enriching
	// every source address; "" or a missing file is no enrichment. They
	// are read again when they change (checked every GeoReload, default
	// a minute).
	GeoCity, GeoASN string
	GeoReload       time.Duration
	// ReverseDNS looks every source address up in the DNS (off by
	// default: the query may reach the attacker's own name server).
	ReverseDNS bool
	// ReconcileInterval is how often desired and reported states are
	// compared when nothing wakes the reconciler; 0 means
	// ReconcileInterval.
	ReconcileInterval time.Duration
	// Dashboard builds the web UI served beside the API under "/"; nil
	// serves the API alone.
	Dashboard func(m *Master, a *api.Server) (http.Handler, error)
	Log       *slog.Logger
	// Version is this build's version, which agents updated from this
	// master report.
	Version string
	// Canary is where canary tokens call home.
	Canary CanaryConfig
}

// Master is a running master's parts.
type Master struct {
	Config     Config
	Store      store.Store
	CA         *pki.CA
	Authority  *Authority
	Reconciler *Reconciler
	// Artifacts holds the blobs agents upload (files, transcripts).
	Artifacts *Artifacts
	Cert      tls.Certificate
	Bus       *bus.Server
	NATS      *nats.Conn
	JS        jetstream.JetStream
	// Outputs runs the SIEM outputs (command-line and API-managed).
	Outputs *Outputs
	// Lifecycle owns every change to topologies and hosts.
	Lifecycle *Lifecycle
	// Attack tags events with ATT&CK techniques (the embedded rules);
	// Geo holds the enrichment databases.
	Attack *attack.Engine
	Geo    *geo.DB
	// Alerts evaluates the alert rules and publishes what they raise.
	Alerts *alert.Evaluator
	// Honey knows the honey credentials planted in the deckies' bait.
	Honey  *honey.Registry
	canary *canaryState
	// Correlator links sources into identities and campaigns.
	Correlator *correlate.Correlator
	log        *slog.Logger

	// Set by Start.
	api                     *api.Server
	handler                 http.Handler
	agentsL, apiL, metricsL net.Listener
	password                string
}

// Open prepares a master: the data directory, the CA (made on first
// start), the master's own certificate, the store (migrated) and the bus.
// It serves nothing yet.
func Open(ctx context.Context, cfg Config) (*Master, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("master: no data directory")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	m := &Master{Config: cfg, log: log.With("component", "master")}
	caDir := filepath.Join(cfg.DataDir, "ca")
	ca, err := pki.LoadCA(caDir)
	if errors.Is(err, fs.ErrNotExist) {
		if ca, err = pki.NewCA(pki.DefaultCAName, time.Now()); err == nil {
			err = ca.Save(caDir)
			m.log.Info("created the certificate authority", "ca_hash", ca.Hash())
		}
	}
	if err != nil {
		return nil, fmt.Errorf("master: certificate authority: %w", err)
	}
	m.CA = ca
	var dns []string
	ips := []net.IP{net.IPv4(127, 0, 0, 1)}
	for _, a := range cfg.Addresses {
		if ip := net.ParseIP(a); ip != nil {
			ips = append(ips, ip)
		} else if a != "" {
			dns = append(dns, a)
		}
	}
	dns = append(dns, "localhost")
	certPEM, keyPEM, err := ca.Issue(pki.Master(), dns, ips, 90*24*time.Hour, time.Now())
	if err != nil {
		return nil, fmt.Errorf("master: own certificate: %w", err)
	}
	if m.Cert, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, err
	}
	if strings.HasPrefix(cfg.DB, "postgres://") || strings.HasPrefix(cfg.DB, "postgresql://") {
		m.Store, err = postgres.Open(ctx, cfg.DB)
	} else if cfg.DB == "" {
		m.Store, err = sqlite.Open(ctx, filepath.Join(cfg.DataDir, "master.db"))
	} else {
		err = fmt.Errorf("--db %q: want a postgres:// URL or nothing (SQLite in the data directory)", cfg.DB)
	}
	if err != nil {
		return nil, fmt.Errorf("master: store: %w", err)
	}
	m.Artifacts = NewArtifacts(filepath.Join(cfg.DataDir, "artifacts"))
	m.Authority = &Authority{CA: ca, Store: m.Store, Artifacts: m.Artifacts, Log: m.log}
	// The master serves its own build to agents for updates.
	if exe, err := os.Executable(); err == nil {
		m.Authority.Binary = &AgentBinary{Path: exe, Version: cfg.Version}
	}
	m.Reconciler = NewReconciler(m.Store, ca, m.Cert, m.log)
	m.Outputs = NewOutputs(m.Store, cfg.DataDir, m.log)
	m.Lifecycle = NewLifecycle(m.Store, m.log)
	if m.Attack, err = attack.Load(); err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	m.Geo = geo.New(geo.Options{City: cfg.GeoCity, ASN: cfg.GeoASN, Log: m.log})
	// The alert rules' tags come from an engine of their own: the
	// tagger's windows belong to its consumer.
	alertTags, err := attack.Load()
	if err != nil {
		return nil, fmt.Errorf("master: %w", err)
	}
	m.Honey = honey.New(m.Store, m.log)
	m.Alerts = alert.New(m.Store, alert.Options{Publisher: alertPublisher{m}, Tagger: alertTags, Honey: m.Honey, Log: m.log})
	m.Lifecycle.OnSpec = func(ctx context.Context, t *store.Topology) {
		if err := m.Honey.SyncTopology(ctx, t); err != nil {
			m.log.Warn("honey credentials not recorded", "topology_id", t.ID, "err", err)
		}
	}
	m.Correlator = correlate.New(m.Store, alertPublisher{m}, m.log)
	m.Lifecycle.HostCapabilities = m.Reconciler.Capabilities
	m.Authority.OnHeartbeat = m.Reconciler.Observe
	return m, nil
}

// Start prepares everything Run serves, so that addresses and the first
// admin password are known before anything is served: it starts the bus,
// binds the agent, API and metrics listeners, builds the API and the
// dashboard, and makes the admin account on first start.
func (m *Master) Start(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			m.closeListeners()
		}
	}()
	if err := m.StartBus(ctx); err != nil {
		return err
	}
	if m.agentsL, err = net.Listen("tcp", m.Config.AgentListen); err != nil {
		return fmt.Errorf("listen for agents on %s: %w", m.Config.AgentListen, err)
	}
	// A port chosen by the kernel (decnet up) is the one join commands
	// must name.
	if _, port, err := net.SplitHostPort(m.Config.AgentListen); err == nil && port == "0" {
		m.Config.AgentListen = m.agentsL.Addr().String()
	}
	if m.apiL, err = net.Listen("tcp", m.Config.APIListen); err != nil {
		return fmt.Errorf("listen for the API on %s: %w", m.Config.APIListen, err)
	}
	if m.Config.MetricsListen != "" {
		if m.metricsL, err = net.Listen("tcp", m.Config.MetricsListen); err != nil {
			return fmt.Errorf("listen for metrics on %s: %w", m.Config.MetricsListen, err)
		}
	}
	if err := m.startCanary(); err != nil {
		return err
	}
	if m.api, err = m.NewAPI(); err != nil {
		return err
	}
	m.api.Mount(m.Routes()...)
	mux := http.NewServeMux()
	mux.Handle(api.Prefix+"/", m.api.Handler())
	mux.Handle(taxii.Prefix, m.taxiiServer())
	if m.Config.Dashboard != nil {
		ui, err := m.Config.Dashboard(m, m.api)
		if err != nil {
			return err
		}
		mux.Handle("/", ui)
	} else {
		mux.Handle("/", m.api.Handler())
	}
	m.handler = mux
	password, created, err := api.Bootstrap(ctx, m.Store)
	if err != nil {
		return err
	}
	if created {
		m.password = password
	}
	if err := m.Honey.Sync(ctx); err != nil {
		return fmt.Errorf("master: honey credentials: %w", err)
	}
	return m.ensureHoneyRule(ctx)
}

// AdminPassword is the admin password Start generated on the first start
// ("" afterwards: it is shown once).
func (m *Master) AdminPassword() string { return m.password }

// DashboardURL is where Start serves the dashboard (the API is under
// /api/v1).
func (m *Master) DashboardURL() string { return "https://" + m.apiL.Addr().String() + "/" }

// AgentsAddr is the address of the agent listener Start bound.
func (m *Master) AgentsAddr() string { return m.agentsL.Addr().String() }

// MetricsAddr is the address of the management listener Start bound
// (/metrics, /healthz, /readyz), "" when there is none.
func (m *Master) MetricsAddr() string {
	if m.metricsL == nil {
		return ""
	}
	return m.metricsL.Addr().String()
}

// Run serves until ctx is done: the DB ingester, the SIEM outputs, the
// intelligence consumers (ATT&CK tagger, enricher, alert evaluator), the
// reconciler, retention, and the agent, API and metrics servers. Every
// goroutine is Run's; the first that fails stops the others and its error
// is returned. Call Start first.
func (m *Master) Run(ctx context.Context) error {
	if m.handler == nil {
		return errors.New("master: Run before Start")
	}
	g, gctx := errgroup.WithContext(ctx)
	ing := NewIngester(m.Store, m.log)
	ing.OnBatch = m.api.RecordIngest
	interval := m.Config.ReconcileInterval
	if interval <= 0 {
		interval = ReconcileInterval
	}
	g.Go(func() error { <-gctx.Done(); m.api.Close(); return nil })
	g.Go(func() error { return ing.Run(gctx, m.JS) })
	g.Go(func() error { return m.Outputs.Run(gctx, m.JS, m.Config.Outputs) })
	// Intelligence: each its own durable consumer, never in the way of
	// ingestion.
	tagger := intel.NewTagger(m.Attack, m.Store, m.log)
	// Windows (password spraying) count what came before a restart.
	if n, err := tagger.Warm(ctx, m.Store, time.Now()); err != nil {
		m.log.Warn("warm the ATT&CK windows", "err", err)
	} else if n > 0 {
		m.log.Info("ATT&CK windows warmed from stored events", "events", n)
	}
	tagger.OnBatch = m.api.RecordTagging
	enricher := intel.NewEnricher(m.Store, intel.EnricherOptions{Geo: m.Geo, ReverseDNS: m.Config.ReverseDNS, Log: m.log})
	g.Go(func() error { return tagger.Run(gctx, m.JS) })
	g.Go(func() error { return m.Geo.Run(gctx, m.Config.GeoReload) })
	g.Go(func() error { return enricher.Run(gctx, m.JS) })
	g.Go(func() error { return m.Correlator.Run(gctx, m.JS) })
	m.Alerts.OnRaise = func(a store.Alert) { m.api.RecordAlert(a.Severity) }
	g.Go(func() error { return m.Alerts.Run(gctx, m.JS) })
	g.Go(func() error { return m.Reconciler.Run(gctx, interval) })
	g.Go(func() error { return m.runRotator(gctx) })
	g.Go(func() error {
		return RunRetention(gctx, m.Store, m.Artifacts, m.Config.Retention, time.Hour, m.log)
	})
	g.Go(func() error { return m.ServeAgents(gctx, m.agentsL) })
	g.Go(func() error { return m.ServeAPI(gctx, m.apiL, m.handler) })
	if m.metricsL != nil {
		g.Go(func() error { return m.ServeMetrics(gctx, m.metricsL, m.api.MetricsHandler()) })
	}
	if m.canary.httpL != nil {
		g.Go(func() error { return m.canary.listener.Serve(gctx, m.canary.httpL) })
	}
	if m.canary.dnsPC != nil {
		g.Go(func() error { return m.canary.listener.ServeDNS(gctx, m.canary.dnsPC) })
	}
	m.log.Info("master running", "data", m.Config.DataDir, "dashboard", m.DashboardURL(), "agents", m.AgentsAddr(), "ca_hash", m.CA.Hash())
	return g.Wait()
}

// alertPublisher publishes raised alerts on the stream as the master's
// own events (subject decnet.events.master), where every output and the
// DB ingester consume them like any other.
type alertPublisher struct{ m *Master }

func (p alertPublisher) Publish(ctx context.Context, events []event.Event) error {
	if p.m.JS == nil {
		return errors.New("master: the bus is not started")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return bus.PublishTo(ctx, p.m.JS, bus.SubjectPrefix+alert.Host, alert.Host, events)
}

func (m *Master) closeListeners() {
	for _, l := range []net.Listener{m.agentsL, m.apiL, m.metricsL} {
		if l != nil {
			l.Close()
		}
	}
	if m.canary != nil && m.canary.httpL != nil {
		m.canary.httpL.Close()
	}
	if m.canary != nil && m.canary.dnsPC != nil {
		m.canary.dnsPC.Close()
	}
}

// StartBus starts the embedded bus (unless an external one is configured)
// and connects the master to it.
func (m *Master) StartBus(ctx context.Context) error {
	url := m.Config.NATSURL
	var opts []nats.Option
	if url == "" {
		host, port := "127.0.0.1", 0
		if m.Config.NATSListen != "" {
			h, p, err := net.SplitHostPort(m.Config.NATSListen)
			if err != nil {
				return fmt.Errorf("--nats-listen %q: %w", m.Config.NATSListen, err)
			}
			host = h
			fmt.Sscan(p, &port)
		}
		so := bus.ServerOptions{DataDir: filepath.Join(m.Config.DataDir, "nats"), Host: host, Port: port, Logger: m.log}
		if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsLoopback()) {
			// Reachable from other hosts: agents must present their
			// certificates, and each may publish only its own subject.
			so.TLS = &bus.ServerTLS{Pool: m.CA.Pool(), Cert: m.Cert, Revocations: m.revocations(ctx)}
		}
		srv, err := bus.NewServer(so)
		if err != nil {
			return err
		}
		if err := srv.Start(ctx); err != nil {
			return err
		}
		m.Bus = srv
		// In-process: no URL, so no TLS handshake over the pipe even when
		// the listener itself requires TLS for remote agents.
		url = ""
		opts = append(opts, srv.InProcessOption())
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("connect to the bus: %w", err)
	}
	m.NATS = nc
	if m.JS, err = jetstream.New(nc); err != nil {
		return err
	}
	if m.Bus == nil {
		_, err := bus.EnsureStream(ctx, m.JS, bus.DefaultStreamConfig)
		return err
	}
	return nil
}

// revocations answers from the store, so a decommissioned agent is
// refused on its very next connection.
func (m *Master) revocations(ctx context.Context) pki.Revocations {
	return pki.RevokedFunc(func(serial *big.Int) bool {
		r, err := m.Store.Revoked(ctx, fmt.Sprintf("%x", serial))
		return err != nil || r
	})
}

// ServeAgents serves the agent-facing API on l until ctx is done.
func (m *Master) ServeAgents(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: m.Authority.AgentHandler(), ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: AgentTLSConfig(m.CA, m.Cert)}
	return serveUntil(ctx, srv, func() error { return srv.ServeTLS(l, "", "") })
}

// Close releases the listeners, the bus connection, the bus and the store.
func (m *Master) Close() error {
	m.closeListeners()
	if m.NATS != nil {
		m.NATS.Close()
	}
	if m.Bus != nil {
		m.Bus.Shutdown()
	}
	return m.Store.Close()
}
