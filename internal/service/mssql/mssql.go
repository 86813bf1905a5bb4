package mssql

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/ntlm"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// loginTimeout drops a client that has not finished its login by then
// (SQL Server's is the client's; this bounds what a client holds).
const loginTimeout = 60 * time.Second

// Server is the SQL Server of one decky.
type Server struct {
	env     serve.Env
	log     *slog.Logger
	version [4]int
	name    string // @@SERVERNAME of the default instance: the host name
	ntlm    *ntlm.Server
	tls     struct {
		once sync.Once
		cfg  *tls.Config
		err  error
	}
}

var _ serve.Server = (*Server)(nil)

// New builds the mssql service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	w := env.Windows()
	s := &Server{env: env, log: env.Logger(), name: w.NetBIOSName,
		ntlm: &ntlm.Server{ID: w, Standalone: w.DNSDomain == ""}}
	if v, ok := parseVersion(cfg.Version); ok {
		s.version = v
	} else {
		if cfg.Version != "" {
			return nil, fmt.Errorf("service/mssql: version %q is not a SQL Server build (15.0.2000.5)", cfg.Version)
		}
		r := env.Identity.Rand("mssql-version")
		rel := releasesFor(env.Persona.Distro.Slug)
		list := builds[rel[r.IntN(len(rel))]]
		s.version, _ = parseVersion(list[r.IntN(len(list))])
	}
	return s, nil
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

// tlsConfig gives SQL Server's self-generated certificate: without one
// configured, SQL Server makes a self-signed "SSL_Self_Signed_Fallback"
// certificate at every start. TDS 7 encrypts with TLS 1.2 at most.
func (s *Server) tlsConfig() (*tls.Config, error) {
	s.tls.once.Do(func() {
		cert, err := fallbackCertificate(s.env.Identity, time.Now().Add(-s.env.Identity.Uptime(time.Now())))
		cfg := tlsserver.SChannel(0, cert)
		cfg.MaxVersion = tls.VersionTLS12 // TDS 7 encrypts with TLS 1.2 at most, whatever the build
		s.tls.cfg, s.tls.err = cfg, err
	})
	return s.tls.cfg, s.tls.err
}

// session is one client connection.
type session struct {
	*serve.Conn
	srv *Server
	br  *bufio.Reader
	rw  io.ReadWriter // the connection, or TLS over it while encrypted
	tls bool
	// tlsLogin says the LOGIN7 came over TLS that then ended.
	tlsLogin bool
}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	var done atomic.Bool
	timer := time.AfterFunc(loginTimeout, func() {
		if !done.Load() {
			c.SetCloseReason("timeout")
			c.Close()
		}
	})
	defer timer.Stop()
	ss := &session{Conn: c, srv: s, br: bufio.NewReaderSize(c, 4096)}
	ss.rw = readWriter{ss.br, c}
	ss.serve(ctx)
	done.Store(true)
}

type readWriter struct {
	io.Reader
	io.Writer
}

func (ss *session) protocolError(what string) {
	ss.Session.Emit(event.Event{Type: "mssql.protocol.error", Fields: map[string]any{"error": what}})
	ss.SetCloseReason("error")
}

func (ss *session) serve(ctx context.Context) {
	m, err := readMessage(ss.rw)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			ss.protocolError("malformed packet")
		}
		return
	}
	encrypt := byte(encryptNotSup)
	if m.Type == pktPrelogin {
		p, err := parsePrelogin(m.Data)
		if err != nil {
			ss.protocolError("malformed PRELOGIN")
			return
		}
		encrypt = answerEncryption(p.Encrypt)
		ss.Session.Emit(event.Event{Type: "mssql.client.prelogin", Fields: preloginFields(p)})
		if _, err := ss.Write(packet(pktReply, preloginReply(p.Options, ss.srv.version, encrypt))); err != nil {
			return
		}
		if encrypt != encryptNotSup && !ss.startTLS(ctx) {
			return
		}
		if m, err = readMessage(ss.rw); err != nil {
			if !errors.Is(err, io.EOF) {
				ss.protocolError("malformed packet")
			}
			return
		}
	}
	if m.Type != pktLogin7 {
		ss.protocolError(fmt.Sprintf("packet type 0x%02x before login", m.Type))
		return
	}
	l, err := parseLogin7(m.Data)
	if err != nil {
		ss.protocolError("malformed LOGIN7")
		return
	}
	if encrypt == encryptOff {
		// Only the LOGIN7 was to be encrypted: back to the bare connection.
		ss.rw, ss.tls = readWriter{ss.br, ss.Conn}, false
		ss.tlsLogin = true
	}
	if l.Integrated() {
		ss.integratedLogin(ctx, l)
		return
	}
	ss.sqlLogin(ctx, l)
}

// answerEncryption is SQL Server's answer without Force Encryption: the
// login only when the client does not ask for more, everything when it
// does, nothing when it cannot.
func answerEncryption(client byte) byte {
	switch client {
	case encryptOn, encryptReq:
		return encryptOn
	case encryptNotSup:
		return encryptNotSup
	}
	return encryptOff
}

func preloginFields(p *prelogin) map[string]any {
	f := map[string]any{
		"encryption": map[byte]string{encryptOff: "off", encryptOn: "on", encryptNotSup: "not_supported", encryptReq: "required"}[p.Encrypt],
		"instance":   event.Text([]byte(p.Instance), 256), "thread_id": int(p.ThreadID), "mars": p.MARS,
	}
	if f["encryption"] == "" {
		f["encryption"] = fmt.Sprintf("0x%02x", p.Encrypt)
	}
	if len(p.Version) >= 6 {
		f["client_version"] = fmt.Sprintf("%d.%d.%d.%d", p.Version[0], p.Version[1], int(p.Version[2])<<8|int(p.Version[3]), int(p.Version[4])<<8|int(p.Version[5]))
	}
	var opts []string
	for _, o := range p.Options {
		opts = append(opts, fmt.Sprintf("%d", o))
	}
	f["options"] = opts
	return f
}

// startTLS runs the TLS handshake inside PRELOGIN packets.
func (ss *session) startTLS(ctx context.Context) bool {
	cfg, err := ss.srv.tlsConfig()
	if err != nil {
		ss.srv.log.Warn("mssql certificate", "err", err)
		ss.SetCloseReason("error")
		return false
	}
	wrap := &preloginTLS{Conn: ss.Conn, raw: ss.br}
	tc, _, fields, err := tlsserver.Handshake(ctx, wrap, cfg)
	ss.Session.Emit(event.Event{Type: "mssql.tls.handshake", Fields: fields})
	if err != nil {
		ss.SetCloseReason("error")
		return false
	}
	wrap.bare = true
	ss.rw, ss.tls = tc, true
	return true
}

// loginFields are the LOGIN7's facts every login event carries.
func (ss *session) loginFields(l *login7) map[string]any {
	return map[string]any{
		"app": event.Text([]byte(l.App), 256), "host": event.Text([]byte(l.Host), 256),
		"library": event.Text([]byte(l.Library), 256), "database": event.Text([]byte(l.Database), 256),
		"server": event.Text([]byte(l.Server), 256), "tds_version": fmt.Sprintf("0x%08x", l.TDSVersion),
		"tls": ss.tls || ss.tlsLogin,
	}
}

// sqlLogin captures a SQL login and fails it as SQL Server does for a
// wrong password or an unknown login: error 18456, state 1.
func (ss *session) sqlLogin(ctx context.Context, l *login7) {
	fields := ss.loginFields(l)
	fields["user"], fields["method"], fields["error"] = event.Text([]byte(l.User), 256), "sql", 18456
	pw := []byte(fromUCS2(l.Password))
	ev := event.Event{Type: "mssql.login.failed", Outcome: "failure", Fields: fields}
	ev.Credential = event.NewCredential("plaintext", "password", l.User, pw, true)
	ss.Session.Emit(ev)
	ss.fail(ctx, l, 18456, fmt.Sprintf("Login failed for user '%s'.", l.User))
}

// integratedLogin answers the NTLM NEGOTIATE of a Windows login with the
// decky's CHALLENGE, captures the AUTHENTICATE and fails it as SQL Server
// fails a logon the domain refuses: error 18452.
func (ss *session) integratedLogin(ctx context.Context, l *login7) {
	tok, err := ntlm.ParseToken(l.SSPI)
	if err != nil || tok.NTLM == nil {
		ss.protocolError("integrated login without an NTLM NEGOTIATE")
		return
	}
	x, challenge, err := ss.srv.ntlm.Challenge(tok.NTLM)
	if err != nil {
		ss.protocolError("malformed NTLM NEGOTIATE")
		return
	}
	ss.Session.Emit(event.Event{Type: "mssql.ntlm.challenge", Fields: map[string]any{
		"client_flags": fmt.Sprintf("0x%08x", x.ClientFlags), "client_version": x.ClientVersion, "spnego": !tok.Raw,
	}})
	if !tok.Raw {
		challenge = ntlm.Response(ntlm.AcceptIncomplete, true, challenge)
	}
	if _, err := ss.rw.Write(packet(pktReply, sspiToken(challenge))); err != nil {
		return
	}
	m, err := readMessage(ss.rw)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			ss.protocolError("malformed packet")
		}
		return
	}
	if m.Type != pktSSPI {
		ss.protocolError(fmt.Sprintf("packet type 0x%02x instead of SSPI", m.Type))
		return
	}
	if tok, err = ntlm.ParseToken(m.Data); err != nil || tok.NTLM == nil {
		ss.protocolError("SSPI message without an NTLM AUTHENTICATE")
		return
	}
	auth, err := x.Authenticate(tok.NTLM)
	if err != nil {
		ss.protocolError("malformed NTLM AUTHENTICATE")
		return
	}
	fields := ss.loginFields(l)
	fields["user"], fields["domain"], fields["method"], fields["error"] = event.Text([]byte(auth.User), 256), event.Text([]byte(auth.Domain), 256), "integrated", 18452
	ss.Session.Emit(event.Event{Type: "mssql.login.failed", Outcome: "failure", Credential: x.Credential(auth, "ntlm"), Fields: fields})
	ss.fail(ctx, l, 18452, fmt.Sprintf("Login failed. The login is from an untrusted domain and cannot be used with %s authentication.", integratedWording(ss.srv.version[0])))
}

// fail sends the ERROR and DONE tokens of a refused login, after the
// moment SQL Server takes, and ends the connection as it does.
func (ss *session) fail(ctx context.Context, l *login7, number int, msg string) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Duration(20+rand.IntN(60)) * time.Millisecond):
	}
	tds72 := l.TDSVersion >= 0x72000000
	reply := append(errorToken(number, 1, 14, msg, ss.srv.name, "", 1, tds72), doneError(tds72)...)
	_, _ = ss.rw.Write(packet(pktReply, reply))
	ss.SetCloseReason("server")
}
