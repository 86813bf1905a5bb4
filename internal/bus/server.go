package bus

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/decnet/decnet/internal/pki"
)

// DefaultPort is the NATS client port.
const DefaultPort = 4222

// MaxPayload is the largest message the embedded server accepts: one
// spooled event (event.MaxLine) plus headers, with room to spare.
const MaxPayload = 2 << 20

// ServerOptions configures an embedded server.
type ServerOptions struct {
	// DataDir holds JetStream's files; required. The stream survives a
	// restart on the same directory.
	DataDir string
	// Host is the address to listen on (default 127.0.0.1: loopback).
	Host string
	// Port is the client port; 0 picks a free one (see ClientURL).
	Port int
	// TLS, when set, requires TLS and a client certificate issued by the
	// DECNET CA, and maps its role to permissions (see ServerTLS).
	TLS *ServerTLS
	// Stream sets the limits of the DECNET_EVENTS stream.
	Stream StreamConfig
	// Name is the server's name (default "decnet").
	Name string
	// Logger receives nats-server's log; nil discards it.
	Logger *slog.Logger
}

// ServerTLS is the DECNET PKI material of the server.
type ServerTLS struct {
	// Pool holds the CA certificate that signs the clients' certificates.
	Pool *x509.CertPool
	// Cert is the server's certificate; its DNS or IP SANs must cover the
	// address agents dial (they verify it like any TLS server).
	Cert tls.Certificate
	// Revocations, when set, refuses revoked client certificates.
	Revocations pki.Revocations
}

// Server is an embedded nats-server with JetStream.
type Server struct {
	opts ServerOptions
	log  *slog.Logger

	mu sync.Mutex
	ns *server.Server
}

// NewServer checks opts and returns a server; it starts nothing.
func NewServer(opts ServerOptions) (*Server, error) {
	if opts.DataDir == "" {
		return nil, errors.New("bus: server needs a data directory")
	}
	if opts.Host == "" {
		opts.Host = "127.0.0.1"
	}
	if opts.Port < 0 || opts.Port > 65535 {
		return nil, fmt.Errorf("bus: port %d out of range", opts.Port)
	}
	if opts.TLS != nil && opts.TLS.Pool == nil {
		return nil, errors.New("bus: TLS needs the CA pool")
	}
	if opts.Name == "" {
		opts.Name = "decnet"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{opts: opts, log: log.With("component", "bus")}, nil
}

// Start starts the server, waits until it accepts clients, and creates
// or updates the DECNET_EVENTS stream. ctx bounds the wait, not the
// server's life: it runs until Shutdown.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns != nil {
		return errors.New("bus: server already started")
	}
	dir, err := filepath.Abs(s.opts.DataDir)
	if err != nil {
		return fmt.Errorf("bus: data directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("bus: data directory: %w", err)
	}
	port := s.opts.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	nopts := &server.Options{
		ServerName: s.opts.Name,
		Host:       s.opts.Host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		MaxPayload: MaxPayload,
		NoSigs:     true, // the process owns its signals
		// No HTTP monitoring, no cluster, no leaf nodes: one listener.
	}
	if t := s.opts.TLS; t != nil {
		var ropts []pki.TLSOption
		if t.Revocations != nil {
			ropts = append(ropts, pki.WithRevocations(t.Revocations))
		}
		nopts.TLSConfig = pki.ServerTLSConfig(t.Pool, t.Cert, acceptedRole, ropts...)
		nopts.TLSVerify = true
		nopts.TLSTimeout = 5
		nopts.CustomClientAuthentication = roleAuth{log: s.log}
	}
	ns, err := server.NewServer(nopts)
	if err != nil {
		return fmt.Errorf("bus: configure nats-server: %w", err)
	}
	ns.SetLogger(natsLogger{s.log}, false, false)
	ns.Start()
	wait := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		wait = time.Until(dl)
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return fmt.Errorf("bus: nats-server not ready after %s", wait)
	}
	s.ns = ns
	if err := s.ensureStream(ctx); err != nil {
		s.ns = nil
		ns.Shutdown()
		ns.WaitForShutdown()
		return err
	}
	s.log.Info("bus listening", "url", ns.ClientURL(), "data_dir", dir, "tls", s.opts.TLS != nil)
	return nil
}

func (s *Server) ensureStream(ctx context.Context) error {
	nc, err := nats.Connect("", nats.InProcessServer(s.ns), nats.Name("decnet-bus-setup"))
	if err != nil {
		return fmt.Errorf("bus: connect in process: %w", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("bus: %w", err)
	}
	_, err = EnsureStream(ctx, js, s.opts.Stream)
	return err
}

// Shutdown stops the server and waits for its goroutines. It is safe to
// call more than once and on a server that never started.
func (s *Server) Shutdown() {
	s.mu.Lock()
	ns := s.ns
	s.ns = nil
	s.mu.Unlock()
	if ns == nil {
		return
	}
	ns.Shutdown()
	ns.WaitForShutdown()
}

// ClientURL returns the URL clients dial (nats:// or tls://), with the
// port actually bound. It is empty before Start.
func (s *Server) ClientURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns == nil {
		return ""
	}
	return s.ns.ClientURL()
}

// InProcessOption returns the nats.go option that connects to the
// embedded server without the network, with the master's permissions:
// only code in this process can open such a connection. It returns nil
// before Start.
func (s *Server) InProcessOption() nats.Option {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns == nil {
		return nil
	}
	return nats.InProcessServer(s.ns)
}

// acceptedRole admits the master and every agent to the TLS handshake;
// roleAuth decides what each may do.
func acceptedRole(r pki.Role) bool { return r == pki.Master() || pki.AnyAgent(r) }

// AgentInboxPrefix is the inbox prefix an agent's connection must use: the
// only subjects it may subscribe to are under it, so an agent cannot read
// replies meant for others (the master's fetched events among them).
func AgentInboxPrefix(host string) string { return "_INBOX_DECNET." + host }

// roleAuth maps a verified client certificate to NATS permissions: the
// master may do anything, an agent may publish only on its own subject and
// receive only its own replies. Connections made in process (net.Pipe,
// impossible from outside the process) get the master's permissions.
type roleAuth struct{ log *slog.Logger }

func (a roleAuth) Check(c server.ClientAuthentication) bool {
	if addr := c.RemoteAddress(); addr != nil && addr.Network() == "pipe" {
		c.RegisterUser(&server.User{Username: "in-process"})
		return true
	}
	cs := c.GetTLSConnectionState()
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		a.log.Warn("bus client refused", "remote", addrString(c.RemoteAddress()), "err", "no verified client certificate")
		return false
	}
	leaf := cs.VerifiedChains[0][0]
	role, err := pki.RoleOf(leaf)
	if err != nil {
		a.log.Warn("bus client refused", "remote", addrString(c.RemoteAddress()), "err", err)
		return false
	}
	u := &server.User{Username: role.String(), ConnectionDeadline: leaf.NotAfter}
	switch {
	case role == pki.Master():
	case pki.AnyAgent(role):
		u.Permissions = &server.Permissions{
			Publish:   &server.SubjectPermission{Allow: []string{SubjectPrefix + role.HostID}},
			Subscribe: &server.SubjectPermission{Allow: []string{AgentInboxPrefix(role.HostID) + ".>"}},
		}
	default:
		a.log.Warn("bus client refused", "remote", addrString(c.RemoteAddress()), "role", role.String())
		return false
	}
	c.RegisterUser(u)
	return true
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// natsLogger routes nats-server's log to slog.
type natsLogger struct{ log *slog.Logger }

// Noticef is debug: nats-server's notices are its start-up banner and
// routine chatter; only its warnings and errors concern an operator.
func (l natsLogger) Noticef(format string, v ...any) {
	l.log.Debug("nats-server", "detail", fmt.Sprintf(format, v...))
}
func (l natsLogger) Warnf(format string, v ...any) {
	l.log.Warn("nats-server", "detail", fmt.Sprintf(format, v...))
}
func (l natsLogger) Fatalf(format string, v ...any) {
	l.log.Error("nats-server fatal", "detail", fmt.Sprintf(format, v...))
}
func (l natsLogger) Errorf(format string, v ...any) {
	l.log.Error("nats-server", "detail", fmt.Sprintf(format, v...))
}
func (l natsLogger) Debugf(format string, v ...any) {
	l.log.Debug("nats-server", "detail", fmt.Sprintf(format, v...))
}
func (l natsLogger) Tracef(format string, v ...any) {
	l.log.Debug("nats-server trace", "detail", fmt.Sprintf(format, v...))
}
