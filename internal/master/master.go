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

	"github.com/decnet/decnet/internal/bus"
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
	Log       *slog.Logger
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
	log     *slog.Logger
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
	m.Reconciler = NewReconciler(m.Store, ca, m.Cert, m.log)
	m.Outputs = NewOutputs(m.Store, cfg.DataDir, m.log)
	m.Authority.OnHeartbeat = func(host string, hb Heartbeat) {
		m.Reconciler.Observe(host, hb.API, hb.AppliedID, hb.AppliedHash, hb.OperationIDs(), hb.Observed)
	}
	return m, nil
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
	go func() { <-ctx.Done(); srv.Close() }()
	err := srv.ServeTLS(l, "", "")
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close releases the bus connection, the bus and the store.
func (m *Master) Close() error {
	if m.NATS != nil {
		m.NATS.Close()
	}
	if m.Bus != nil {
		m.Bus.Shutdown()
	}
	return m.Store.Close()
}
