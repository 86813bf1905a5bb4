package rdp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf16"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/ntlm"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// logonTimeout drops a client that has not finished the security
// exchange by then, as Windows' and xrdp's connection timers do.
const logonTimeout = 60 * time.Second

// credSSPVersion is the CredSSP version Windows has spoken since the
// CVE-2018-0886 update.
const credSSPVersion = 6

// Windows' RDP_NEG_RSP flags: extended client data, graphics pipeline,
// the reserved bit, restricted admin and redirected authentication.
const windowsNegFlags = 0x1f

// xrdpNegFlags is what xrdp 0.9 sets: extended client data only.
const xrdpNegFlags = 0x01

// Server is the Remote Desktop service of one decky.
type Server struct {
	env  serve.Env
	log  *slog.Logger
	nla  bool
	xrdp bool // a Linux persona: xrdp as Debian ships it
	ntlm *ntlm.Server
	tls  struct {
		once sync.Once
		cfg  *tls.Config
		err  error
	}
}

var _ serve.Server = (*Server)(nil)

// New builds the rdp service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	s := &Server{env: env, log: env.Logger(), nla: cfg.NLA, xrdp: !env.Persona.Family.IsWindows()}
	if !s.xrdp {
		w := env.Windows()
		s.ntlm = &ntlm.Server{ID: w, Standalone: w.DNSDomain == ""}
	}
	return s, nil
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

// tlsConfig builds the certificate once (deriving an RSA key takes a
// moment) when the first client asks for TLS.
func (s *Server) tlsConfig() (*tls.Config, error) {
	s.tls.once.Do(func() {
		var cert tls.Certificate
		var cfg *tls.Config
		if s.xrdp {
			// Debian's xrdp on OpenSSL 3.0 (ssl_protocols=TLSv1.2, TLSv1.3).
			cfg = tlsserver.OpenSSL()
			host := strings.SplitN(s.env.Persona.Hostname, ".", 2)[0]
			cert, s.tls.err = snakeoilCertificate(s.env.Identity, host, time.Now())
		} else {
			// SChannel: TLS 1.3 from Windows 11 and Server 2022.
			cfg = tlsserver.SChannel(int(s.ntlm.ID.Build))
			w := s.ntlm.ID
			cn := w.NetBIOSName
			if w.DNSDomain != "" {
				cn += "." + w.DNSDomain
			}
			cert, s.tls.err = windowsCertificate(s.env.Identity, cn, time.Now())
		}
		cfg.Certificates = []tls.Certificate{cert}
		s.tls.cfg = cfg
	})
	return s.tls.cfg, s.tls.err
}

// session is one connection.
type session struct {
	*serve.Conn
	srv *Server
	br  *bufio.Reader
}

// Read reads through the session's buffer, which peeked at the first byte.
func (ss *session) Read(p []byte) (int, error) { return ss.br.Read(p) }

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	var done atomic.Bool
	timer := time.AfterFunc(logonTimeout, func() {
		if !done.Load() {
			c.SetCloseReason("timeout")
			c.Close()
		}
	})
	defer timer.Stop()
	ss := &session{Conn: c, srv: s, br: bufio.NewReaderSize(c, 512)}
	ss.serve(ctx)
	done.Store(true)
}

func (ss *session) protocolError(what string) {
	ss.Session.Emit(event.Event{Type: "rdp.protocol.error", Fields: map[string]any{"error": what}})
	ss.SetCloseReason("error")
}

// refuse ends a connection on a PDU the server cannot use: xrdp says so
// with a Disconnect Provider Ultimatum, Windows just closes.
func (ss *session) refuse(what string) {
	ss.protocolError(what)
	if ss.srv.xrdp {
		_, _ = ss.Write(disconnectUltimatum)
	}
}

func (ss *session) serve(ctx context.Context) {
	if first, err := ss.br.Peek(1); err == nil && first[0] == 0x16 && !ss.srv.xrdp {
		// Windows answers a TLS ClientHello sent without the X.224
		// negotiation (how nmap's ssl-cert reads its certificate), and
		// CredSSP may follow.
		if tc := ss.startTLS(ctx); tc != nil {
			ss.credSSP(ctx, tc)
		}
		return
	}
	pdu, isTPKT, err := readPDU(ss)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			ss.refuse("unreadable first PDU")
		}
		return
	}
	if !isTPKT {
		ss.refuse("not a TPKT")
		return
	}
	cr, err := parseConnRequest(pdu)
	if err != nil {
		ss.refuse("not an X.224 connection request")
		return
	}
	selected, reply := ss.srv.negotiate(cr)
	fields := map[string]any{
		"cookie": event.Text([]byte(cr.Cookie), 256), "routing_token": cr.RoutingToken,
		"negotiation": cr.HasNeg, "selected": selected,
	}
	if cr.HasNeg {
		fields["requested_protocols"] = protocolNames(cr.Protocols)
		fields["requested_mask"] = int(cr.Protocols)
		fields["flags"] = int(cr.Flags)
	}
	if cr.Correlation != nil {
		fields["correlation_id"] = hex.EncodeToString(cr.Correlation)
	}
	ss.Session.Emit(event.Event{Type: "rdp.client.hello", Fields: fields})
	if _, err := ss.Write(reply); err != nil {
		return
	}
	switch selected {
	case "hybrid", "hybrid_ex":
		if tc := ss.startTLS(ctx); tc != nil {
			ss.credSSP(ctx, tc)
		}
	case "ssl", "rdstls":
		if tc := ss.startTLS(ctx); tc != nil {
			ss.connectInitial(tc)
		}
	case "rdp":
		ss.connectInitial(ss)
	}
	// a failure code: Windows and xrdp close at once
}

// negotiate chooses as the persona's server does and builds the
// Connection Confirm.
func (s *Server) negotiate(cr *connRequest) (string, []byte) {
	if !cr.HasNeg {
		// A client from before RDP 5.2: no negotiation data may be sent
		// back; standard RDP security follows, which an NLA or TLS
		// Windows then drops.
		return "rdp", connConfirm(0, 0, 0)
	}
	p := cr.Protocols
	if s.xrdp {
		// security_layer=negotiate: TLS when offered, else standard RDP
		// security; xrdp has no CredSSP.
		if p&protoSSL != 0 {
			return "ssl", connConfirm(negRsp, xrdpNegFlags, protoSSL)
		}
		return "rdp", connConfirm(negRsp, xrdpNegFlags, protoRDP)
	}
	switch {
	case p&protoHybridEx != 0:
		return "hybrid_ex", connConfirm(negRsp, windowsNegFlags, protoHybridEx)
	case p&protoHybrid != 0:
		return "hybrid", connConfirm(negRsp, windowsNegFlags, protoHybrid)
	case p&protoRDSTLS != 0:
		return "rdstls", connConfirm(negRsp, windowsNegFlags, protoRDSTLS)
	case s.nla:
		return "HYBRID_REQUIRED_BY_SERVER", connConfirm(negFailure, 0, failHybridRequired)
	case p&protoSSL != 0:
		return "ssl", connConfirm(negRsp, windowsNegFlags, protoSSL)
	}
	return "SSL_REQUIRED_BY_SERVER", connConfirm(negFailure, 0, failSSLRequired)
}

func (ss *session) startTLS(ctx context.Context) *tls.Conn {
	cfg, err := ss.srv.tlsConfig()
	if err != nil {
		ss.srv.log.Warn("rdp certificate", "err", err)
		ss.SetCloseReason("error")
		return nil
	}
	tc, _, fields, err := tlsserver.Handshake(ctx, ss, cfg)
	ss.Session.Emit(event.Event{Type: "rdp.tls.handshake", Fields: fields})
	if err != nil {
		ss.SetCloseReason("error")
		return nil
	}
	return tc
}

// credSSP runs Network Level Authentication up to the AUTHENTICATE and
// fails the logon as Windows does when the password is wrong.
func (ss *session) credSSP(ctx context.Context, rw io.ReadWriter) {
	req, ok := ss.readTSRequest(rw)
	if !ok {
		return
	}
	tok, err := ntlm.ParseToken(req.NegoToken)
	if err != nil || tok.NTLM == nil {
		ss.protocolError("first TSRequest without an NTLM NEGOTIATE")
		return
	}
	x, challenge, err := ss.srv.ntlm.Challenge(tok.NTLM)
	if err != nil {
		ss.protocolError("malformed NTLM NEGOTIATE")
		return
	}
	ss.Session.Emit(event.Event{Type: "rdp.ntlm.challenge", Fields: map[string]any{
		"client_flags": fmt.Sprintf("0x%08x", x.ClientFlags), "client_version": x.ClientVersion,
		"credssp_version": req.Version, "spnego": !tok.Raw,
	}})
	version := min(max(req.Version, 2), credSSPVersion)
	if !tok.Raw {
		challenge = ntlm.Response(ntlm.AcceptIncomplete, true, challenge)
	}
	if _, err := rw.Write((&tsRequest{Version: version, NegoToken: challenge}).marshal()); err != nil {
		return
	}
	req, ok = ss.readTSRequest(rw)
	if !ok {
		return
	}
	tok, err = ntlm.ParseToken(req.NegoToken)
	if err != nil || tok.NTLM == nil {
		ss.protocolError("second TSRequest without an NTLM AUTHENTICATE")
		return
	}
	auth, err := x.Authenticate(tok.NTLM)
	if err != nil {
		ss.protocolError("malformed NTLM AUTHENTICATE")
		return
	}
	ss.Session.Emit(event.Event{Type: "rdp.login.failed", Outcome: "failure", Credential: x.Credential(auth, "credssp"),
		Fields: map[string]any{"user": event.Text([]byte(auth.User), 256), "domain": event.Text([]byte(auth.Domain), 256),
			"workstation": event.Text([]byte(auth.Workstation), 256), "credssp_version": req.Version}})
	// The domain controller takes a moment to say no.
	select {
	case <-ctx.Done():
		return
	case <-time.After(time.Duration(150+rand.IntN(250)) * time.Millisecond):
	}
	if req.Version >= 3 {
		_, _ = rw.Write((&tsRequest{Version: version, ErrorCode: statusLogonFailure, HasError: true}).marshal())
	}
	ss.SetCloseReason("server")
}

func (ss *session) readTSRequest(r io.Reader) (*tsRequest, bool) {
	b, err := readTSRequest(r)
	if err != nil {
		if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
			ss.protocolError("malformed TSRequest")
		}
		return nil, false
	}
	req, err := parseTSRequest(b)
	if err != nil {
		ss.protocolError("malformed TSRequest")
		return nil, false
	}
	return req, true
}

// connectInitial reads the client's MCS Connect Initial and records its
// core data. Standard RDP security and the graphical logon are not
// emulated: the connection closes here, as a server that has lost the
// client's session would.
func (ss *session) connectInitial(r io.Reader) {
	pdu, isTPKT, err := readPDU(r)
	if err != nil || !isTPKT {
		return
	}
	if info := clientCore(pdu); info != nil {
		ss.Session.Emit(event.Event{Type: "rdp.client.info", Fields: info})
	}
	if ss.srv.xrdp {
		if w, ok := r.(io.Writer); ok {
			_, _ = w.Write(disconnectUltimatum)
		}
	}
	ss.SetCloseReason("server")
}

// clientCore finds TS_UD_CS_CORE (MS-RDPBCGR 2.2.1.3.2) in a Connect
// Initial: its header 0xC001, a length, and an RDP version 0x0008000x.
func clientCore(pdu []byte) map[string]any {
	for i := 0; i+4 <= len(pdu); i++ {
		j := bytes.Index(pdu[i:], []byte{0x01, 0xc0})
		if j < 0 {
			return nil
		}
		i += j
		b := pdu[i:]
		if len(b) < 56 || binary.LittleEndian.Uint16(b[6:]) != 0x0008 {
			continue
		}
		u := make([]uint16, 16)
		for k := range u {
			u[k] = binary.LittleEndian.Uint16(b[24+2*k:])
		}
		name := string(utf16.Decode(u))
		if k := strings.IndexByte(name, 0); k >= 0 {
			name = name[:k]
		}
		return map[string]any{
			"client_name":     event.Text([]byte(name), 64),
			"client_build":    int(binary.LittleEndian.Uint32(b[20:])),
			"keyboard_layout": fmt.Sprintf("0x%08x", binary.LittleEndian.Uint32(b[16:])),
			"desktop":         fmt.Sprintf("%dx%d", binary.LittleEndian.Uint16(b[8:]), binary.LittleEndian.Uint16(b[10:])),
		}
	}
	return nil
}
