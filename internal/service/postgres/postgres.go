package postgres

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// Port is the port PostgreSQL listens on.
const Port = 5432

// authTimeout is authentication_timeout: a client that has not logged in
// by then is dropped.
const authTimeout = 60 * time.Second

// maxQueryText caps the statement text an event carries.
const maxQueryText = 4096

// Server is the PostgreSQL emulation of one decky.
type Server struct {
	env       serve.Env
	log       *slog.Logger
	build     build
	scram     bool
	ssl       bool
	users     map[string]string
	databases []string
	catalog   *catalog

	certOnce sync.Once
	cert     tls.Certificate
	certErr  error

	pid atomic.Int32
}

var _ serve.Server = (*Server)(nil)

// New builds the PostgreSQL service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	log := env.Logger()
	cfg := serve.SettingsOf(env, defaults)
	s := &Server{env: env, log: log, build: buildFor(env.Persona.Distro.Slug, strings.TrimSpace(cfg.Version)),
		users: map[string]string{}}
	switch cfg.AuthMethod {
	case "md5":
		s.scram = false
	case "scram-sha-256":
		s.scram = s.build.major >= 10
	default:
		s.scram = s.build.scramDefault()
	}
	switch cfg.SSL {
	case "on":
		s.ssl = true
	case "off":
		s.ssl = false
	default:
		s.ssl = s.build.ssl
	}
	for _, u := range cfg.Users {
		name, pw, ok := strings.Cut(u, ":")
		if ok && name != "" {
			s.users[name] = pw
		}
	}
	s.databases = cfg.Databases
	if len(s.databases) == 0 {
		s.databases = seededDatabases(env)
	}
	s.catalog = newCatalog(env, s.build, s.databases)
	r := env.Identity.Rand("postgres-pid")
	s.pid.Store(int32(800 + r.IntN(30000)))
	return s, nil
}

// Serve implements serve.Server.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCP(ctx, s.env, Port, s.handle)
}

func (s *Server) certificate() (tls.Certificate, error) {
	s.certOnce.Do(func() {
		cn := s.env.Persona.Hostname
		if cn == "" {
			cn = "localhost"
		}
		s.cert, s.certErr = tlsserver.Certificate(s.env.Identity, cn, time.Now())
	})
	return s.cert, s.certErr
}

// session is one client connection's state.
type session struct {
	*serve.Conn
	srv     *Server
	rw      net.Conn
	br      *bufio.Reader
	out     msgBuf
	tls     *tls.Conn
	user    string
	db      string
	params  [][2]string
	stmts   map[string]string
	portals map[string]portal
	// dry is set while a statement is only analysed (Parse, Describe):
	// no table is created, no sleep taken.
	dry bool
}

// analyse runs q without side effects.
func (ss *session) analyse(q string) result {
	ss.dry = true
	defer func() { ss.dry = false }()
	return ss.srv.catalog.run(ss, q)
}

type portal struct {
	query  string
	params []string
}

func (s *Server) handle(ctx context.Context, c *serve.Conn) {
	authed := atomic.Bool{}
	timer := time.AfterFunc(authTimeout, func() {
		if !authed.Load() {
			c.SetCloseReason("timeout")
			c.Close()
		}
	})
	defer timer.Stop()
	ss := &session{Conn: c, srv: s, rw: c, br: bufio.NewReaderSize(c, 8192)}
	st := ss.negotiate(ctx)
	if st == nil {
		return
	}
	if !ss.authenticate(st) {
		return
	}
	authed.Store(true)
	ss.serveQueries(ctx)
}

// flush writes the pending messages.
func (ss *session) flush() error {
	if len(ss.out.b) == 0 {
		return nil
	}
	_, err := ss.rw.Write(ss.out.b)
	ss.out.b = ss.out.b[:0]
	return err
}

// fatal sends a FATAL ErrorResponse and ends the conversation.
func (ss *session) fatal(code, msg, detail, file string, line int, routine string) {
	ss.out.errorResponse(pgError{severity: "FATAL", code: code, msg: msg, detail: detail, file: file, line: line, routine: routine}, ss.srv.build.hasV())
	_ = ss.flush()
}

func (ss *session) protocolError(why string) {
	ss.Session.Emit(event.Event{Type: "postgres.protocol.error", Fields: map[string]any{"error": why}})
	ss.SetCloseReason("error")
}

// negotiate runs the startup phase up to a StartupMessage: SSLRequest,
// GSSENCRequest and CancelRequest are answered as the server does.
func (ss *session) negotiate(ctx context.Context) *startup {
	s := ss.srv
	lines := s.build.lines
	sslDone, gssDone := false, false
	for range 4 {
		st, err := readStartup(ss.br)
		if err != nil {
			var pe *protoError
			switch {
			case errors.Is(err, errBadLength):
				ss.protocolError(err.Error())
			case errors.As(err, &pe):
				ss.protocolError(pe.msg)
				ss.fatal("08P01", pe.msg, "", "postmaster.c", lines.layout, "ProcessStartupPacket")
			}
			return nil
		}
		switch {
		case st.code == codeCancelRequest:
			ss.Session.Emit(event.Event{Type: "postgres.protocol.error", Fields: map[string]any{"error": "cancel request"}})
			return nil
		case st.code == codeSSLRequest && !sslDone, st.code == codeGSSENCRequest && !gssDone:
			answer := byte('N')
			if st.code == codeSSLRequest {
				sslDone = true
				if s.ssl && ss.tls == nil {
					answer = 'S'
				}
			} else {
				gssDone = true
				if ss.tls == nil {
					// Built with GSSAPI (every distro package is): 'G',
					// then the GSS token, which no keytab accepts.
					answer = 'G'
				}
			}
			if _, err := ss.rw.Write([]byte{answer}); err != nil {
				return nil
			}
			if answer == 'G' {
				ss.protocolError("GSSAPI encryption requested")
				var hdr [4]byte
				if _, err := io.ReadFull(ss.br, hdr[:]); err == nil {
					_, _ = io.CopyN(io.Discard, ss.br, int64(min(binary.BigEndian.Uint32(hdr[:]), 16384)))
				}
				return nil
			}
			if ss.br.Buffered() > 0 {
				if answer == 'S' {
					ss.protocolError("unencrypted data after SSL request")
					return nil
				}
				ss.protocolError("unencrypted data after SSL request")
				ss.fatal("08P01", "received unencrypted data after SSL request",
					"This could be either a client-software bug or evidence of an attempted man-in-the-middle attack.",
					"postmaster.c", lines.sslData, "ProcessStartupPacket")
				return nil
			}
			if answer == 'S' {
				if !ss.startTLS(ctx) {
					return nil
				}
			}
			continue
		}
		if st.major() != 3 {
			ss.protocolError(fmt.Sprintf("unsupported frontend protocol %d.%d", st.major(), st.minor()))
			ss.fatal("0A000", fmt.Sprintf("unsupported frontend protocol %d.%d: server supports %s to 3.0", st.major(), st.minor(), s.build.earliestProtocol()),
				"", "postmaster.c", lines.protocol, "ProcessStartupPacket")
			return nil
		}
		return ss.startupMessage(st)
	}
	return nil
}

func (ss *session) startTLS(ctx context.Context) bool {
	cert, err := ss.srv.certificate()
	if err != nil {
		ss.srv.log.Warn("postgres certificate", "err", err)
		return false
	}
	cfg := tlsserver.OpenSSL(cert)
	tc, _, fields, err := tlsserver.Handshake(ctx, ss.Conn, cfg)
	ss.Session.Emit(event.Event{Type: "postgres.tls.handshake", Fields: fields})
	if err != nil {
		ss.SetCloseReason("error")
		return false
	}
	ss.tls, ss.rw = tc, tc
	ss.br = bufio.NewReaderSize(tc, 8192)
	return true
}

// startupMessage records the StartupMessage and checks its user.
func (ss *session) startupMessage(st *startup) *startup {
	s := ss.srv
	user, _ := st.param("user")
	db, ok := st.param("database")
	if !ok || db == "" {
		db = user
	}
	app, _ := st.param("application_name")
	params := map[string]any{}
	for _, kv := range st.params {
		params[event.Text([]byte(kv[0]), 64)] = event.Text([]byte(kv[1]), 256)
	}
	ss.Session.Emit(event.Event{Type: "postgres.client.startup", Fields: map[string]any{
		"user": event.Text([]byte(user), 256), "database": event.Text([]byte(db), 256),
		"application_name": event.Text([]byte(app), 256), "params": params,
		"protocol": fmt.Sprintf("%d.%d", st.major(), st.minor()), "tls": ss.tls != nil,
	}})
	if user == "" {
		ss.fatal("28000", "no PostgreSQL user name specified in startup packet", "", "postmaster.c", s.build.lines.noUser, "ProcessStartupPacket")
		return nil
	}
	// A newer minor or _pq_ options: NegotiateProtocolVersion (11+).
	var unknown []string
	for _, kv := range st.params {
		if strings.HasPrefix(kv[0], "_pq_.") {
			unknown = append(unknown, kv[0])
		}
	}
	if s.build.major >= 11 && (st.minor() > 0 || len(unknown) > 0) {
		at := ss.out.start('v')
		ss.out.i32(3 << 16)
		ss.out.i32(int32(len(unknown)))
		for _, u := range unknown {
			ss.out.cstr(u)
		}
		ss.out.end(at)
	}
	ss.user, ss.db, ss.params = user, db, st.params
	return st
}

// expectAuth reads the client's next authentication message.
func (ss *session) expectAuth(sasl bool) *message {
	if err := ss.flush(); err != nil {
		return nil
	}
	m, err := readMessage(ss.br, maxAuthMsg)
	if err != nil {
		var pe *protoError
		if errors.As(err, &pe) {
			ss.protocolError(pe.msg)
			ss.fatal("08P01", "invalid message length", "", "pqcomm.c", 1537, "pq_getmessage")
		}
		return nil
	}
	if m.typ != 'p' {
		ss.protocolError(fmt.Sprintf("unexpected message type %d during authentication", m.typ))
		if sasl {
			file := "auth-sasl.c"
			if ss.srv.build.major < 14 {
				file = "auth.c"
			}
			ss.fatal("08P01", fmt.Sprintf("expected SASL response, got message type %d", m.typ), "", file, ss.srv.build.lines.saslMsg, "CheckSASLAuth")
		} else {
			ss.fatal("08P01", fmt.Sprintf("expected password response, got message type %d", m.typ), "", "auth.c", ss.srv.build.lines.pwMsg, "recv_password_packet")
		}
		return nil
	}
	return m
}

// authenticate asks for a password (md5 or SCRAM), records the attempt
// and tells whether the login was accepted and the session is ready.
func (ss *session) authenticate(st *startup) bool {
	s := ss.srv
	if s.scram {
		return ss.authSCRAM()
	}
	salt := make([]byte, 4)
	_, _ = rand.Read(salt)
	ss.out.auth(5, salt)
	m := ss.expectAuth(false)
	if m == nil {
		return false
	}
	r := &reader{b: m.body}
	resp := r.cstring()
	if r.bad {
		ss.protocolError("invalid password packet")
		ss.fatal("08P01", "invalid password packet size", "", "auth.c", s.build.lines.pwMsg+20, "recv_password_packet")
		return false
	}
	cred := event.NewCredential("postgres_md5", "md5", event.Text([]byte(ss.user), 256), []byte(resp), false)
	cred.Challenge = hex.EncodeToString(salt)
	if strings.HasPrefix(resp, "md5") && len(resp) == 35 {
		cred.CrackFormat = "hashcat"
		cred.CrackMode = 11100
		cred.CrackLine = "$postgres$" + ss.user + "*" + hex.EncodeToString(salt) + "*" + resp[3:]
	}
	ok := false
	if pw, known := s.users[ss.user]; known {
		ok = resp == md5Response(ss.user, pw, salt)
	}
	return ss.finishAuth(ok, cred, "md5")
}

// md5Response is what a client with password sends to the salt.
func md5Response(user, password string, salt []byte) string {
	inner := md5.Sum([]byte(password + user))
	outer := md5.Sum(append([]byte(hex.EncodeToString(inner[:])), salt...))
	return "md5" + hex.EncodeToString(outer[:])
}

// scramSalt is the role's stored salt: stable per decky and user, as a
// pg_authid entry (or the server's mock salt for an unknown role) is.
func (s *Server) scramSalt(user string) []byte {
	return s.env.Identity.Bytes("postgres-scram-salt/"+user, 16)
}

func (ss *session) authSCRAM() bool {
	s := ss.srv
	lines := s.build.lines
	mechs := []string{"SCRAM-SHA-256"}
	if ss.tls != nil && s.build.major >= 11 {
		mechs = []string{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}
	}
	var data []byte
	for _, m := range mechs {
		data = append(append(data, m...), 0)
	}
	ss.out.auth(10, append(data, 0))
	m := ss.expectAuth(true)
	if m == nil {
		return false
	}
	mech, first, err := saslInitial(m.body)
	if err != nil {
		ss.protocolError(err.Error())
		ss.fatal("08P01", "malformed SASLInitialResponse message", "", "auth-sasl.c", lines.saslMsg+20, "CheckSASLAuth")
		return false
	}
	if !slices.Contains(mechs, mech) {
		ss.protocolError("invalid SASL mechanism")
		ss.fatal("08P01", "client selected an invalid SASL authentication mechanism", "", "auth-scram.c", lines.saslMech, "scram_init")
		return false
	}
	cf, err := parseClientFirst(first)
	if err != nil {
		ss.protocolError("malformed SCRAM client-first-message")
		ss.fatal("08P01", "malformed SCRAM message", "Comma expected, but found character \""+string(firstByte(first))+"\".", "auth-scram.c", 900, "read_any_attr")
		return false
	}
	nonce := make([]byte, 18)
	_, _ = rand.Read(nonce)
	salt := s.scramSalt(ss.user)
	serverFirst := "r=" + cf.nonce + base64.StdEncoding.EncodeToString(nonce) + ",s=" + base64.StdEncoding.EncodeToString(salt) + ",i=" + strconv.Itoa(scramIterations)
	ss.out.auth(11, []byte(serverFirst))
	m = ss.expectAuth(true)
	if m == nil {
		return false
	}
	fin, err := parseClientFinal(m.body)
	if err != nil || fin.nonce != cf.nonce+base64.StdEncoding.EncodeToString(nonce) {
		ss.protocolError("malformed SCRAM client-final-message")
		ss.fatal("08P01", "malformed SCRAM message", "Nonce does not match.", "auth-scram.c", 1220, "read_client_final_message")
		return false
	}
	authMessage := cf.bare + "," + serverFirst + "," + fin.withoutProof
	cred := event.NewCredential("postgres_scram_sha256", mech, event.Text([]byte(ss.user), 256), fin.proof, false)
	cred.Challenge = hex.EncodeToString([]byte(serverFirst))
	// No hashcat mode takes a captured SCRAM exchange (28600 is the
	// pg_authid verifier): the material a cracker needs is kept whole.
	cred.Material = map[string]any{
		"mechanism": mech, "iterations": scramIterations,
		"salt_b64":     base64.StdEncoding.EncodeToString(salt),
		"auth_message": event.Text([]byte(authMessage), 2048),
		"client_proof": base64.StdEncoding.EncodeToString(fin.proof),
		"channel_flag": event.Text([]byte(cf.cbindFlag), 64),
		"scram_user":   event.Text([]byte(cf.user), 256),
	}
	ok := false
	var sig []byte
	if pw, known := s.users[ss.user]; known {
		sig, ok = scramVerify(pw, salt, scramIterations, authMessage, fin.proof)
		if ok && mech == "SCRAM-SHA-256-PLUS" {
			ok = ss.channelBindingOK(fin.channel, cf.cbindFlag)
		}
	}
	if ok {
		ss.out.auth(12, []byte("v="+base64.StdEncoding.EncodeToString(sig)))
	}
	return ss.finishAuth(ok, cred, mech)
}

func firstByte(b []byte) byte {
	if len(b) == 0 {
		return ' '
	}
	return b[0]
}

// channelBindingOK checks tls-server-end-point data: the SHA-256 of the
// decky's certificate (its signature hash).
func (ss *session) channelBindingOK(c, flag string) bool {
	raw, err := base64.StdEncoding.DecodeString(c)
	if err != nil {
		return false
	}
	cert, err := ss.srv.certificate()
	if err != nil || len(cert.Certificate) == 0 {
		return false
	}
	sum := sha256.Sum256(cert.Certificate[0])
	want := append([]byte(flag+",,"), sum[:]...)
	return string(raw) == string(want)
}

// finishAuth answers the attempt: the version's FATAL 28P01, or the
// login sequence when accepted.
func (ss *session) finishAuth(ok bool, cred *event.Credential, method string) bool {
	s := ss.srv
	f := map[string]any{"user": event.Text([]byte(ss.user), 256), "database": event.Text([]byte(ss.db), 256),
		"method": method, "tls": ss.tls != nil}
	if !ok {
		f["error_code"] = "28P01"
		ss.Session.Emit(event.Event{Type: "postgres.login.failed", Outcome: "failure", Credential: cred, Fields: f})
		ss.fatal("28P01", fmt.Sprintf("password authentication failed for user \"%s\"", ss.user), "", "auth.c", s.build.lines.authFail, "auth_failed")
		return false
	}
	ss.Session.Emit(event.Event{Type: "postgres.login.success", Outcome: "success", Credential: cred, Fields: f})
	ss.out.auth(0, nil)
	switch {
	case ss.db == "template0":
		ss.fatal("55000", "database \"template0\" is not currently accepting connections", "", "postinit.c", s.build.lines.noConnect, "InitPostgres")
		return false
	case !s.catalog.hasDatabase(ss.db):
		ss.fatal("3D000", fmt.Sprintf("database \"%s\" does not exist", ss.db), "", "postinit.c", s.build.lines.noDB, "InitPostgres")
		return false
	}
	for _, kv := range ss.parameterStatus() {
		ss.out.paramStatus(kv[0], kv[1])
	}
	at := ss.out.start('K')
	ss.out.i32(s.pid.Add(1 + int32(randN(40))))
	var key [4]byte
	_, _ = rand.Read(key[:])
	ss.out.i32(int32(binary.BigEndian.Uint32(key[:])))
	ss.out.end(at)
	ss.out.ready('I')
	return ss.flush() == nil
}

func randN(n int) int {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return int(binary.BigEndian.Uint16(b[:])) % n
}

// clientParam is a startup parameter the client sent.
func (ss *session) clientParam(name string) (string, bool) {
	for _, kv := range ss.params {
		if strings.EqualFold(kv[0], name) {
			return kv[1], true
		}
	}
	return "", false
}

// parameterStatus lists the GUC_REPORT parameters in the order the
// version reports them at login.
func (ss *session) parameterStatus() [][2]string {
	b := ss.srv.build
	app, _ := ss.clientParam("application_name")
	enc := "UTF8"
	if v, ok := ss.clientParam("client_encoding"); ok && v != "" && !strings.EqualFold(v, "auto") {
		enc = strings.ToUpper(strings.ReplaceAll(v, "-", ""))
		if enc == "UTF8" || enc == "UNICODE" {
			enc = "UTF8"
		}
	}
	ds := "ISO, MDY"
	if v, ok := ss.clientParam("datestyle"); ok && v != "" {
		ds = v
	}
	super := "off"
	if ss.user == b.superuser {
		super = "on"
	}
	out := [][2]string{{"application_name", app}, {"client_encoding", enc}, {"DateStyle", ds}}
	if b.major >= 14 {
		out = append(out, [2]string{"default_transaction_read_only", "off"}, [2]string{"in_hot_standby", "off"})
	}
	out = append(out, [2]string{"integer_datetimes", "on"}, [2]string{"IntervalStyle", "postgres"},
		[2]string{"is_superuser", super}, [2]string{"server_encoding", "UTF8"}, [2]string{"server_version", b.version},
		[2]string{"session_authorization", ss.user}, [2]string{"standard_conforming_strings", "on"}, [2]string{"TimeZone", b.tz})
	return out
}

// serveQueries runs the logged-in session: simple and extended queries.
func (ss *session) serveQueries(ctx context.Context) {
	ss.stmts = map[string]string{}
	ss.portals = map[string]portal{}
	skipToSync := false
	for ctx.Err() == nil {
		m, err := readMessage(ss.br, maxMessage)
		if err != nil {
			var pe *protoError
			if errors.As(err, &pe) {
				ss.protocolError(pe.msg)
				ss.fatal("08P01", "invalid message length", "", "pqcomm.c", 1537, "pq_getmessage")
			}
			return
		}
		if skipToSync && m.typ != 'S' && m.typ != 'X' {
			continue
		}
		switch m.typ {
		case 'X':
			return
		case 'Q':
			r := &reader{b: m.body}
			q := r.cstring()
			ss.simpleQuery(q)
			ss.out.ready('I')
		case 'P':
			r := &reader{b: m.body}
			name, q := r.cstring(), r.cstring()
			// Parse analyses the statement: a missing relation or a
			// syntax error is reported now, as the server does.
			if res := ss.analyse(q); res.err != nil && strings.HasPrefix(res.err.code, "42") {
				ss.execute(q, "extended", nil, false)
				skipToSync = true
				break
			}
			if len(ss.stmts) < 256 || ss.stmts[name] != "" {
				ss.stmts[name] = q
			}
			ss.out.simple('1')
		case 'B':
			pname, sname, params, err := bindParams(m.body)
			q, ok := ss.stmts[sname]
			if err != nil || !ok {
				ss.queryError(pgError{severity: "ERROR", code: "26000", msg: fmt.Sprintf("prepared statement \"%s\" does not exist", sname), file: "prepare.c", line: 462, routine: "FetchPreparedStatement"})
				skipToSync = true
				break
			}
			if len(ss.portals) < 256 || ss.portals[pname].query != "" {
				ss.portals[pname] = portal{query: q, params: params}
			}
			ss.out.simple('2')
		case 'D':
			r := &reader{b: m.body}
			kind := r.bytes(1)
			name := r.cstring()
			var q string
			if len(kind) == 1 && kind[0] == 'S' {
				q = ss.stmts[name]
				at := ss.out.start('t')
				n := countParams(q)
				ss.out.i16(int16(n))
				for range n {
					ss.out.i32(oidText)
				}
				ss.out.end(at)
			} else {
				q = ss.portals[name].query
			}
			res := ss.analyse(q)
			if res.err == nil && res.cols != nil {
				ss.out.rowDesc(res.cols)
			} else {
				ss.out.simple('n')
			}
		case 'E':
			r := &reader{b: m.body}
			p := ss.portals[r.cstring()]
			if !ss.execute(p.query, "extended", p.params, false) {
				skipToSync = true
			}
		case 'S':
			skipToSync = false
			ss.out.ready('I')
		case 'H':
		case 'C':
			ss.out.simple('3')
		case 'F', 'd', 'c', 'f':
			ss.queryError(pgError{severity: "ERROR", code: "08P01", msg: "unexpected message type 0x" + hex.EncodeToString([]byte{m.typ}) + " during COPY from stdin"})
			skipToSync = m.typ == 'F'
		default:
			ss.protocolError(fmt.Sprintf("invalid frontend message type %d", m.typ))
			ss.fatal("08P01", fmt.Sprintf("invalid frontend message type %d", m.typ), "", "postgres.c", ss.srv.build.lines.frontend, "SocketBackend")
			return
		}
		if ss.br.Buffered() == 0 {
			if err := ss.flush(); err != nil {
				return
			}
		}
	}
}

func (ss *session) queryError(e pgError) {
	ss.out.errorResponse(e, ss.srv.build.hasV())
}

// simpleQuery runs each statement of a Query message until one fails.
func (ss *session) simpleQuery(q string) {
	stmts := splitStatements(q)
	if len(stmts) == 0 {
		ss.Session.Emit(event.Event{Type: "postgres.query.input", Fields: map[string]any{"query": "", "protocol": "simple",
			"database": event.Text([]byte(ss.db), 256), "user": event.Text([]byte(ss.user), 256), "result": "empty"}})
		ss.out.simple('I')
		return
	}
	for _, st := range stmts {
		if !ss.execute(st, "simple", nil, true) {
			return
		}
	}
}

// execute runs one statement, writes its result and records it; it
// tells whether the statement succeeded.
func (ss *session) execute(q, proto string, params []string, describe bool) bool {
	res := ss.srv.catalog.run(ss, q)
	f := map[string]any{"query": event.Text([]byte(q), maxQueryText), "protocol": proto,
		"database": event.Text([]byte(ss.db), 256), "user": event.Text([]byte(ss.user), 256)}
	var truncated []string
	if len(q) > maxQueryText {
		truncated = append(truncated, "query")
	}
	if params != nil {
		ps := make([]string, 0, len(params))
		for _, p := range params {
			ps = append(ps, event.Text([]byte(p), 256))
		}
		f["params"] = ps
	}
	if res.attack != "" {
		f["attack"] = res.attack
	}
	if res.err != nil {
		f["result"] = res.err.code
	} else {
		f["result"] = res.tag
	}
	ss.Session.Emit(event.Event{Type: "postgres.query.input", Fields: f, Truncated: truncated})
	if res.err != nil {
		ss.queryError(*res.err)
		return false
	}
	if res.empty {
		ss.out.simple('I')
		return true
	}
	if describe && res.cols != nil {
		ss.out.rowDesc(res.cols)
	}
	for _, row := range res.rows {
		ss.out.dataRow(row)
	}
	ss.out.complete(res.tag)
	return true
}

// countParams counts $n placeholders (the highest n).
func countParams(q string) int {
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] != '$' {
			continue
		}
		v := 0
		j := i + 1
		for j < len(q) && q[j] >= '0' && q[j] <= '9' && v < 1000 {
			v = v*10 + int(q[j]-'0')
			j++
		}
		n = max(n, v)
	}
	return min(n, 1000)
}
