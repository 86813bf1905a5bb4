package smtp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/service/tlsserver"
)

// Bounds.
const (
	maxLine       = 2048 // Postfix line_length_limit
	maxErrors     = 20   // Postfix smtpd_hard_error_limit
	maxRecipients = 100
	maxSources    = 65536
)

// Server is the SMTP service of one decky.
type Server struct {
	env   serve.Env
	log   *slog.Logger
	d     dialect
	cfg   *Settings
	relay *RelaySettings // set for smtp_relay
	users map[string]string
	// mailboxes are the local parts a local recipient may have; others are
	// refused as unknown users, as the MTA refuses them.
	mailboxes map[string]bool
	host      string
	domains   []string
	tls       *tls.Config
	now       func() time.Time
	failWait  func() time.Duration

	mu     sync.Mutex
	probes map[string]int // source -> probe messages forwarded
}

var _ serve.Server = (*Server)(nil)

func newServer(env serve.Env, relay bool) (*Server, error) {
	log := env.Logger()
	s := &Server{env: env, log: log, now: time.Now, probes: map[string]int{}, users: map[string]string{},
		failWait: func() time.Duration { return 1500*time.Millisecond + randDuration(time.Second) }}
	if relay {
		s.relay = serve.SettingsOf(env, relayDefaults)
		s.cfg = &s.relay.Settings
	} else {
		s.cfg = serve.SettingsOf(env, defaults)
	}
	s.d = dialectFor(s.cfg.MTA, env.Persona.Family, env.Persona.Distro)
	s.host = strings.ToLower(env.Persona.Hostname)
	if s.host == "" {
		s.host = "localhost"
	}
	if !strings.Contains(s.host, ".") {
		s.host += ".localdomain"
	}
	s.domains = []string{s.host, "localhost"}
	if _, parent, ok := strings.Cut(s.host, "."); ok && strings.Contains(parent, ".") {
		s.domains = append(s.domains, parent)
	}
	s.mailboxes = map[string]bool{}
	for _, m := range systemMailboxes {
		s.mailboxes[m] = true
	}
	for _, u := range s.cfg.Users {
		if name, pw, ok := strings.Cut(u, ":"); ok && name != "" {
			s.users[name] = pw
			s.mailboxes[strings.ToLower(name)] = true
		}
	}
	cert, err := tlsserver.Certificate(env.Identity, s.host, time.Now())
	if err != nil {
		return nil, fmt.Errorf("service/smtp: %w", err)
	}
	s.tls = tlsserver.OpenSSL(cert) // Postfix and Exim on OpenSSL 3.0
	if s.d.name == "exchange" {
		s.tls = tlsserver.SChannel(env.Persona.Distro.WindowsBuild(), cert)
	}
	return s, nil
}

func randDuration(max time.Duration) time.Duration {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(max)))
	return time.Duration(n.Int64())
}

// Serve listens on 25 and 587 of every decky address until ctx is done.
func (s *Server) Serve(ctx context.Context) error {
	return serve.TCPPorts(ctx, s.env, []uint16{Port, SubmissionPort}, s.handle)
}

// session is one SMTP connection.
type session struct {
	s       *Server
	c       *serve.Conn
	port    uint16
	r       *bufio.Reader
	w       *bufio.Writer
	tls     bool
	helo    string
	ehlo    bool
	authed  string
	from    string
	hasMAIL bool
	rcpts   []string
	relay   bool
	errors  int
}

func (s *Server) handle(ctx context.Context, c *serve.Conn, port uint16) {
	ss := &session{s: s, c: c, port: port, r: bufio.NewReaderSize(c, maxLine+2), w: bufio.NewWriter(c)}
	greeting := s.d.greeting(s.host, s.now())
	if s.cfg.Banner != "" {
		greeting = "220 " + strings.TrimPrefix(strings.NewReplacer("\r", "", "\n", " ").Replace(s.cfg.Banner), "220 ")
	}
	ss.reply(greeting)
	for ctx.Err() == nil {
		line, err := ss.readLine()
		if err != nil {
			if errors.Is(err, errLineTooLong) {
				ss.reply("500 5.5.2 Error: line too long")
				continue
			}
			return
		}
		if !ss.command(ctx, line) {
			return
		}
		if ss.errors >= maxErrors {
			ss.reply(s.d.withHost(s.d.tooManyErrors, s.host))
			ss.c.SetCloseReason("limit")
			return
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line without its ending, bounded: a longer line is
// read to its end and refused.
func (ss *session) readLine() (string, error) {
	line, err := ss.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = ss.r.ReadSlice('\n')
		}
		if err != nil {
			return "", err
		}
		return "", errLineTooLong
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

func (ss *session) reply(lines ...string) {
	for _, l := range lines {
		ss.w.WriteString(l)
		ss.w.WriteString("\r\n")
	}
	_ = ss.w.Flush()
}

func (ss *session) fail(line string) {
	ss.errors++
	ss.reply(line)
}

func (ss *session) emit(typ string, fields map[string]any) {
	ss.c.Session.Emit(event.Event{Type: typ, Fields: fields})
}

func text(s string) string { return event.Text([]byte(s), 1024) }

// command runs one command line; false ends the session.
func (ss *session) command(ctx context.Context, line string) bool {
	verb, arg, _ := strings.Cut(line, " ")
	verb = strings.ToUpper(verb)
	d := ss.s.d
	switch verb {
	case "HELO", "EHLO":
		if strings.TrimSpace(arg) == "" {
			ss.fail("501 Syntax: " + verb + " hostname")
			return true
		}
		ss.helo, ss.ehlo = strings.TrimSpace(arg), verb == "EHLO"
		ss.resetEnvelope()
		ss.emit("smtp.client.helo", map[string]any{"command": verb, "helo": text(ss.helo)})
		if !ss.ehlo {
			ss.reply(d.withHost(d.helo, ss.s.host))
			return true
		}
		ss.reply(ss.ehloLines()...)
	case "STARTTLS":
		if strings.TrimSpace(arg) != "" {
			ss.fail(d.tlsSyntax)
			return true
		}
		if ss.tls {
			ss.fail(d.tlsActive)
			return true
		}
		ss.reply(d.tlsGo)
		tc, _, fields, err := tlsserver.Handshake(ctx, ss.c, ss.s.tls)
		fields["port"] = int(ss.port)
		if err != nil {
			ss.c.Session.Emit(event.Event{Type: "smtp.tls.handshake", Outcome: "failure", Fields: fields})
			return false
		}
		ss.c.Session.Emit(event.Event{Type: "smtp.tls.handshake", Outcome: "success", Fields: fields})
		ss.tls, ss.r, ss.w = true, bufio.NewReaderSize(tc, maxLine+2), bufio.NewWriter(tc)
		ss.helo, ss.ehlo = "", false // RFC 3207: start over
		ss.resetEnvelope()
	case "AUTH":
		ss.auth(arg)
	case "MAIL":
		ss.mail(arg)
	case "RCPT":
		ss.rcpt(arg)
	case "DATA":
		return ss.data(ctx)
	case "RSET":
		ss.resetEnvelope()
		ss.reply(d.rset)
	case "NOOP":
		ss.reply(d.noop)
	case "QUIT":
		ss.reply(d.withHost(d.quit, ss.s.host))
		return false
	case "VRFY":
		if strings.TrimSpace(arg) == "" {
			ss.logCommand(verb, arg, 501)
			ss.fail(d.vrfySyntax)
			return true
		}
		addr := strings.Trim(strings.TrimSpace(arg), "<>")
		if d.vrfyLookup {
			local := ss.s.local(addr)
			switch {
			case local && !ss.s.mailbox(addr):
				ss.logCommand(verb, arg, 550)
				ss.fail(d.unknownUser(addr))
				return true
			case !local && !ss.s.cfg.OpenRelay && ss.authed == "":
				ss.logCommand(verb, arg, 454)
				ss.fail(d.relayDenied(addr))
				return true
			}
		}
		ss.logCommand(verb, arg, 252)
		ss.reply(d.vrfy(strings.TrimSpace(arg)))
	default:
		code := 500
		fmt.Sscan(d.unknown, &code)
		ss.logCommand(verb, arg, code)
		ss.fail(d.unknown)
	}
	return true
}

func (ss *session) logCommand(verb, arg string, code int) {
	ss.emit("smtp.command.input", map[string]any{"verb": event.Text([]byte(verb), 32), "args": text(arg), "reply": code})
}

func (ss *session) ehloLines() []string {
	d := ss.s.d
	ip, _, _ := net.SplitHostPort(ss.c.RemoteAddr().String())
	lines := []string{d.ehloFirst(ss.s.host, ss.helo, ip)}
	for _, k := range d.keywords {
		switch {
		case k == "STARTTLS" && ss.tls:
			continue
		case k == "AUTH":
			lines = append(lines, "AUTH "+d.auth)
			continue
		}
		lines = append(lines, k)
	}
	for i := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		lines[i] = "250" + sep + lines[i]
	}
	return lines
}

func (ss *session) resetEnvelope() {
	ss.from, ss.hasMAIL, ss.rcpts, ss.relay = "", false, nil, false
}

// address reads "FROM:<a@b> params" or "TO:<a@b>".
func address(arg, key string) (string, bool) {
	arg = strings.TrimSpace(arg)
	if len(arg) < len(key) || !strings.EqualFold(arg[:len(key)], key) {
		return "", false
	}
	rest := strings.TrimSpace(arg[len(key):])
	if strings.HasPrefix(rest, "<") {
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return "", false
		}
		return rest[1:end], true
	}
	addr, _, _ := strings.Cut(rest, " ")
	return addr, addr != ""
}

func (ss *session) mail(arg string) {
	d := ss.s.d
	switch {
	case ss.helo == "" && d.heloRequired:
		ss.fail(d.needHelo)
		return
	case ss.hasMAIL:
		ss.fail(d.nestedMail)
		return
	}
	from, ok := address(arg, "FROM:")
	switch {
	case !ok && strings.Contains(arg, "<"):
		ss.fail(d.withHost(d.badSender, strings.Trim(strings.TrimSpace(arg[strings.IndexByte(arg, '<'):]), "<>")))
		return
	case !ok:
		ss.fail(d.mailSyntax)
		return
	}
	ss.from, ss.hasMAIL = from, true
	ss.reply(d.mailOK)
}

// local reports whether rcpt is a mailbox of the decky's domains.
func (s *Server) local(rcpt string) bool {
	_, domain, ok := strings.Cut(rcpt, "@")
	if !ok {
		return true
	}
	domain = strings.ToLower(strings.Trim(domain, "[] "))
	for _, d := range s.domains {
		if domain == d {
			return true
		}
	}
	return false
}

// systemMailboxes are the local parts of a Debian mail host: its system
// accounts, the aliases /etc/aliases ships, and a company's role addresses.
var systemMailboxes = []string{"root", "postmaster", "mailer-daemon", "abuse", "hostmaster", "webmaster", "www",
	"noc", "security", "nobody", "usenet", "news", "ftp", "daemon", "bin", "sys", "sync", "games", "man", "lp",
	"mail", "uucp", "proxy", "www-data", "backup", "list", "irc", "_apt", "admin", "administrator", "info", "sales", "support"}

// mailbox reports whether a local recipient names a mailbox of the decky.
func (s *Server) mailbox(rcpt string) bool {
	user, _, _ := strings.Cut(rcpt, "@")
	user, _, _ = strings.Cut(strings.ToLower(user), "+")
	return s.mailboxes[user]
}

func (ss *session) rcpt(arg string) {
	d := ss.s.d
	if !ss.hasMAIL {
		ss.fail(d.needMail)
		return
	}
	rcpt, ok := address(arg, "TO:")
	if !ok || rcpt == "" || strings.ContainsAny(rcpt, " \t") {
		ss.fail(d.rcptSyntax)
		ss.emit("smtp.rcpt.refused", map[string]any{"helo": text(ss.helo), "mail_from": text(ss.from), "rcpt": text(arg), "reason": "syntax"})
		return
	}
	local := ss.s.local(rcpt)
	if local && !ss.s.mailbox(rcpt) {
		ss.fail(d.unknownUser(rcpt))
		ss.emit("smtp.rcpt.refused", map[string]any{"helo": text(ss.helo), "mail_from": text(ss.from), "rcpt": text(rcpt), "reason": "unknown_user"})
		return
	}
	if !local && !ss.s.cfg.OpenRelay && ss.authed == "" {
		ss.fail(d.relayDenied(rcpt))
		ss.emit("smtp.rcpt.refused", map[string]any{"helo": text(ss.helo), "mail_from": text(ss.from), "rcpt": text(rcpt), "reason": "relay_denied"})
		return
	}
	if len(ss.rcpts) >= maxRecipients {
		ss.fail("452 4.5.3 Error: too many recipients")
		return
	}
	ss.relay = ss.relay || !local
	ss.rcpts = append(ss.rcpts, rcpt)
	ss.reply(d.rcptOK)
}

// data reads a message, stores it whole in the quarantine and reports it.
func (ss *session) data(ctx context.Context) bool {
	d := ss.s.d
	switch {
	case !ss.hasMAIL:
		ss.fail(d.dataNoMail)
		return true
	case len(ss.rcpts) == 0:
		ss.fail(d.noValidRcpt)
		return true
	}
	ss.reply(d.dataGo)
	var msg bytes.Buffer
	tooBig := false
	for {
		line, err := ss.r.ReadSlice('\n')
		for errors.Is(err, bufio.ErrBufferFull) {
			// A long line is kept whole: a message may hold one.
			if !tooBig {
				msg.Write(line)
			}
			line, err = ss.r.ReadSlice('\n')
		}
		if err != nil {
			return false
		}
		if bytes.Equal(bytes.TrimRight(line, "\r\n"), []byte(".")) {
			break
		}
		if line[0] == '.' {
			line = line[1:] // dot-stuffing
		}
		if !tooBig {
			msg.Write(line)
			tooBig = int64(msg.Len()) > d.maxSize
		}
	}
	if tooBig {
		ss.fail(d.tooBig)
		ss.resetEnvelope()
		return true
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	fields := ss.s.record(ss, msg.Bytes())
	if ss.s.relay != nil && ss.s.relay.UpstreamHost != "" {
		fields["probe_forwarded"] = ss.s.probe(ctx, ss, msg.Bytes())
	}
	ss.emit("smtp.message.received", fields)
	ss.reply(d.queued(d.queueID(id)))
	ss.resetEnvelope()
	return true
}

// auth runs AUTH: every attempt is captured; only a configured user with
// its password succeeds.
func (ss *session) auth(arg string) {
	d := ss.s.d
	if ss.helo == "" || !ss.ehlo {
		ss.fail(d.needHelo)
		return
	}
	if ss.authed != "" {
		ss.fail("503 5.5.1 Error: already authenticated")
		return
	}
	mech, initial, _ := strings.Cut(strings.TrimSpace(arg), " ")
	mech = strings.ToUpper(mech)
	if !strings.Contains(" "+d.auth+" ", " "+mech+" ") {
		ss.fail("535 5.7.8 Error: authentication failed: Invalid authentication mechanism")
		return
	}
	var user, pass string
	var cred *event.Credential
	switch mech {
	case "PLAIN":
		resp, ok := ss.challenge(initial, "")
		if !ok {
			return
		}
		parts := strings.SplitN(string(resp), "\x00", 3)
		if len(parts) != 3 {
			ss.fail(d.authDecode)
			return
		}
		user, pass = parts[1], parts[2]
		cred = event.NewCredential("plaintext", "AUTH PLAIN", user, []byte(pass), true)
	case "LOGIN":
		u, ok := ss.challenge(initial, "VXNlcm5hbWU6")
		if !ok {
			return
		}
		p, ok := ss.challenge("", "UGFzc3dvcmQ6")
		if !ok {
			return
		}
		user, pass = string(u), string(p)
		cred = event.NewCredential("plaintext", "AUTH LOGIN", user, []byte(pass), true)
	case "CRAM-MD5":
		nonce := make([]byte, 8)
		_, _ = rand.Read(nonce)
		chal := fmt.Sprintf("<%d.%d@%s>", new(big.Int).SetBytes(nonce[:4]).Int64(), ss.s.now().Unix(), ss.s.host)
		resp, ok := ss.challenge("", base64.StdEncoding.EncodeToString([]byte(chal)))
		if !ok {
			return
		}
		u, digest, _ := strings.Cut(string(resp), " ")
		user = u
		cred = event.NewCredential("cram_md5", "AUTH CRAM-MD5", user, []byte(digest), false)
		cred.Challenge = hex.EncodeToString([]byte(chal))
		// hashcat 16400 (CRAM-MD5): $cram_md5$<b64 challenge>$<b64 "user digest">
		cred.CrackFormat, cred.CrackMode = "hashcat", 16400
		cred.CrackLine = "$cram_md5$" + base64.StdEncoding.EncodeToString([]byte(chal)) + "$" + base64.StdEncoding.EncodeToString(resp)
		if want, known := ss.s.users[user]; known {
			mac := hmac.New(md5.New, []byte(want))
			mac.Write([]byte(chal))
			if hex.EncodeToString(mac.Sum(nil)) == digest {
				pass = want
			} else {
				pass = "\x00wrong"
			}
		}
	default: // NTLM on the Exchange persona: refused as unavailable
		ss.fail(d.authFail)
		return
	}
	want, known := ss.s.users[user]
	ok := known && pass == want
	fields := map[string]any{"mechanism": mech, "port": int(ss.port)}
	typ, outcome := "smtp.login.failed", "failure"
	if ok {
		typ, outcome = "smtp.login.success", "success"
	}
	ss.c.Session.Emit(event.Event{Type: typ, Outcome: outcome, Credential: cred, Fields: fields})
	if !ok {
		time.Sleep(ss.s.failWait()) // the SASL server's failure delay
		ss.fail(d.authFail)
		return
	}
	ss.authed = user
	ss.reply(d.authOK)
}

// challenge sends a 334 prompt (unless the client gave an initial
// response) and decodes the base64 answer.
func (ss *session) challenge(initial, prompt string) ([]byte, bool) {
	resp := initial
	if resp == "" || resp == "=" && prompt != "" {
		ss.reply("334 " + prompt)
		line, err := ss.readLine()
		if err != nil {
			return nil, false
		}
		resp = line
	}
	if resp == "*" {
		ss.fail(ss.s.d.authAbort)
		return nil, false
	}
	if resp == "=" {
		return nil, true
	}
	b, err := base64.StdEncoding.DecodeString(resp)
	if err != nil {
		ss.fail(ss.s.d.authDecode)
		return nil, false
	}
	return b, true
}

// probe forwards a relay tester's probe upstream, at most ProbeLimit per
// source; it reports whether this message went.
func (s *Server) probe(ctx context.Context, ss *session, msg []byte) bool {
	src := ss.c.Session.Source().IP
	s.mu.Lock()
	if s.probes[src] >= s.relay.ProbeLimit || (len(s.probes) >= maxSources && s.probes[src] == 0) {
		s.mu.Unlock()
		return false
	}
	s.probes[src]++
	s.mu.Unlock()
	if err := forward(ctx, s.relay, ss.from, ss.rcpts, msg); err != nil {
		s.log.Warn("probe not forwarded", "err", err)
		return false
	}
	return true
}
