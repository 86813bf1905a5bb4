package sip

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Server is the SIP endpoint of one decky.
type Server struct {
	env      serve.Env
	log      *slog.Logger
	phone    bool   // a desk phone, not a PBX
	agent    string // the Server (PBX) or User-Agent (phone) header
	realm    string
	accounts map[string]string
	secret   []byte // keys this decky's nonces
	opaque   string
	now      func() time.Time
	scans    *scanTracker
}

var _ serve.Server = (*Server)(nil)

// New builds the SIP service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	r := env.Identity.Rand("sip-product")
	s := &Server{env: env, log: env.Logger(), realm: cfg.Realm, accounts: map[string]string{}, now: time.Now,
		secret: env.Identity.Bytes("sip-nonce", 32), scans: newScanTracker()}
	switch cfg.Product {
	case "", "asterisk":
		s.agent = "Asterisk PBX " + []string{"18.20.2", "20.5.2", "18.15.1", "16.30.1", "20.9.3"}[r.IntN(5)]
	case "freepbx":
		s.agent = "FPBX-" + []string{"16.0.40.7(18.20.2)", "16.0.33(18.15.1)", "17.0.19.2(21.4.1)"}[r.IntN(3)]
	case "yealink":
		s.phone = true
		s.agent = "Yealink " + []string{"SIP-T46S 66.86.0.15", "SIP-T54W 96.86.0.70", "SIP-T42S 66.86.0.15"}[r.IntN(3)]
	default:
		return nil, fmt.Errorf("sip: product %q: want asterisk, freepbx or yealink", cfg.Product)
	}
	if cfg.UserAgent != "" {
		s.agent = cfg.UserAgent
	}
	if s.realm == "" {
		s.realm = "asterisk"
	}
	for _, a := range cfg.Accounts {
		user, pass, ok := strings.Cut(a, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("sip: account %q: want extension:password", a)
		}
		s.accounts[user] = pass
	}
	sum := md5.Sum(append([]byte("opaque"), s.secret...))
	s.opaque = hex.EncodeToString(sum[:8])
	return s, nil
}

// Serve implements serve.Server: one handler over UDP and TCP.
func (s *Server) Serve(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serve.UDP(gctx, s.env, Port, serve.PacketLimits{}, s.servePacket) })
	g.Go(func() error { return serve.TCP(gctx, s.env, Port, s.serveStream) })
	return g.Wait()
}

// peer is where a request came from and how to record its events.
type peer struct {
	transport string
	src, dst  netip.AddrPort
	emit      func(event.Event)
	quiet     bool // past its rate: no per-request events
}

func (s *Server) servePacket(ctx context.Context, p *serve.Packet) {
	req, err := parseRequest(bufio.NewReader(bytes.NewReader(p.Data)), false)
	if err != nil {
		return // responses, keep-alives and noise get no answer over UDP
	}
	pe := peer{transport: "UDP", src: p.Src, dst: p.Dst, quiet: p.Limited, emit: func(e event.Event) {
		e.Transport, e.Src, e.Dst = "udp", event.EndpointOf(p.Src), event.EndpointOf(p.Dst)
		s.env.Events.Emit(e)
	}}
	for _, out := range s.handle(req, pe) {
		if p.Reply(out) != nil {
			return
		}
	}
}

func (s *Server) serveStream(ctx context.Context, c *serve.Conn) {
	r := bufio.NewReaderSize(c, 4096)
	pe := peer{transport: "TCP", src: netip.MustParseAddrPort(c.RemoteAddr().String()), dst: netip.MustParseAddrPort(c.LocalAddr().String()),
		emit: func(e event.Event) { c.Session.Emit(e) }}
	pe.src = netip.AddrPortFrom(pe.src.Addr().Unmap(), pe.src.Port())
	for ctx.Err() == nil {
		req, err := parseRequest(r, true)
		if err != nil {
			if err == errMalformed {
				c.Session.Emit(event.Event{Type: "sip.protocol.error", Fields: map[string]any{"error": "malformed SIP message"}})
			}
			return
		}
		for _, out := range s.handle(req, pe) {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
	}
}

// handle answers one request with zero or more responses.
func (s *Server) handle(req *request, pe peer) [][]byte {
	var out [][]byte
	status := 0
	respond := func(code int, reason string, extra ...string) {
		status = code
		out = append(out, s.response(req, pe, code, reason, extra...))
	}
	method := strings.ToUpper(req.method)
	to := req.get("To")
	user := uriUser(to)
	if user == "" {
		user = uriUser(req.uri)
	}
	defer func() {
		if pe.quiet {
			return
		}
		pe.emit(event.Event{Type: "sip.request.received", Fields: map[string]any{
			"method": event.Text([]byte(req.method), 32), "request_uri": event.Text([]byte(req.uri), 512),
			"from": event.Text([]byte(req.get("From")), 512), "to": event.Text([]byte(to), 512), "to_user": event.Text([]byte(user), 128),
			"contact": event.Text([]byte(req.get("Contact")), 512), "call_id": event.Text([]byte(req.get("Call-ID")), 256),
			"cseq": event.Text([]byte(req.get("CSeq")), 64), "via": event.Text([]byte(req.get("Via")), 512),
			"user_agent": event.Text([]byte(req.get("User-Agent")), 256), "status": status,
		}})
		if n, sample, found := s.scans.add(pe.src.Addr(), user, s.now()); found {
			pe.emit(event.Event{Type: "sip.scan.detected", Fields: map[string]any{"extensions": n, "sample": sample,
				"user_agent": event.Text([]byte(req.get("User-Agent")), 256)}})
		}
	}()
	if req.get("Via") == "" || req.get("Call-ID") == "" || req.get("CSeq") == "" || req.get("From") == "" || to == "" {
		respond(400, "Bad Request")
		return out
	}
	switch method {
	case "ACK":
		return nil
	case "CANCEL", "BYE":
		respond(481, "Call/Transaction Does Not Exist")
		return out
	}
	if s.phone {
		s.phoneAnswer(req, method, pe, respond)
		return out
	}
	switch method {
	case "OPTIONS", "REGISTER", "INVITE", "SUBSCRIBE", "NOTIFY", "MESSAGE", "PUBLISH", "INFO", "REFER", "UPDATE", "PRACK":
	default:
		respond(501, "Not Implemented")
		return out
	}
	authed, tried := s.authenticate(req, method, pe)
	if method == "INVITE" {
		s.callAttempt(req, pe, authed)
	}
	if !authed {
		// Asterisk challenges every unidentified request alike, so an
		// unknown extension looks like a known one.
		stale := ""
		if tried == "stale" {
			stale = ",stale=true"
		}
		respond(401, "Unauthorized", fmt.Sprintf(`WWW-Authenticate: Digest realm="%s",nonce="%s",opaque="%s",algorithm=md5,qop="auth"%s`,
			s.realm, s.nonce(pe.src.Addr()), s.opaque, stale))
		return out
	}
	switch method {
	case "REGISTER":
		contact := req.get("Contact")
		expires := req.get("Expires")
		if expires == "" {
			expires = "3600"
		}
		if contact != "" && contact != "*" {
			respond(200, "OK", "Contact: "+contact+";expires="+expires, "Expires: "+expires, "Date: "+s.now().UTC().Format(time.RFC1123))
		} else {
			respond(200, "OK", "Date: "+s.now().UTC().Format(time.RFC1123))
		}
	case "OPTIONS":
		respond(200, "OK", "Allow: OPTIONS, REGISTER, SUBSCRIBE, NOTIFY, PUBLISH, INVITE, ACK, BYE, CANCEL, UPDATE, PRACK, MESSAGE, REFER",
			"Accept: application/sdp, application/simple-message-summary, application/pidf+xml, application/xpidf+xml, application/dialog-info+xml, message/sipfrag;version=2.0",
			"Supported: 100rel, timer, replaces, norefersub, path", "Accept-Encoding: text/plain", "Accept-Language: en")
	case "INVITE":
		respond(100, "Trying")
		respond(404, "Not Found")
	default:
		respond(405, "Method Not Allowed")
	}
	return out
}

// phoneAnswer is a desk phone: OPTIONS answered, calls busy.
func (s *Server) phoneAnswer(req *request, method string, pe peer, respond func(int, string, ...string)) {
	allow := "Allow: INVITE, INFO, PRACK, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REGISTER, SUBSCRIBE, REFER, PUBLISH, UPDATE, MESSAGE"
	switch method {
	case "OPTIONS":
		respond(200, "OK", allow, "Allow-Events: talk,hold,conference,refer,check-sync", "Accept: application/sdp")
	case "INVITE":
		s.callAttempt(req, pe, false)
		respond(100, "Trying")
		respond(486, "Busy Here")
	case "NOTIFY", "INFO", "MESSAGE":
		respond(200, "OK")
	default:
		respond(405, "Method Not Allowed", allow)
	}
}

// callAttempt records an INVITE: who is calling whom, with what media.
func (s *Server) callAttempt(req *request, pe peer, authed bool) {
	var media []string
	for _, l := range strings.Split(string(req.body), "\n") {
		if strings.HasPrefix(l, "m=") && len(media) < 8 {
			media = append(media, event.Text([]byte(strings.TrimSpace(l)), 128))
		}
	}
	from := req.get("From")
	pe.emit(event.Event{Type: "sip.call.attempt", Fields: map[string]any{
		"dialled":       event.Text([]byte(uriUser(req.uri)), 128),
		"caller_id":     event.Text([]byte(strings.TrimSpace(displayName(from)+" <"+uriUser(from)+">")), 256),
		"authenticated": authed, "sdp_media": media,
	}})
}

// response builds a response as PJSIP writes one: the request's Vias
// (the top one with received and rport), Call-ID, From, To with a tag,
// CSeq, then the extra headers, Server and its two-space Content-Length.
func (s *Server) response(req *request, pe peer, code int, reason string, extra ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "SIP/2.0 %d %s\r\n", code, reason)
	for i, v := range req.all("Via") {
		if i == 0 {
			v = received(v, pe.src)
		}
		b.WriteString("Via: " + v + "\r\n")
	}
	b.WriteString("Call-ID: " + req.get("Call-ID") + "\r\n")
	b.WriteString("From: " + req.get("From") + "\r\n")
	to := req.get("To")
	if code > 100 && !strings.Contains(strings.ToLower(to), ";tag=") {
		to += ";tag=" + branch(req.get("Via"))
	}
	b.WriteString("To: " + to + "\r\n")
	b.WriteString("CSeq: " + req.get("CSeq") + "\r\n")
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if s.phone {
		b.WriteString("User-Agent: " + s.agent + "\r\n")
	} else {
		b.WriteString("Server: " + s.agent + "\r\n")
	}
	b.WriteString("Content-Length:  0\r\n\r\n")
	return []byte(b.String())
}

// received adds received= and, when asked for, rport= to a Via.
func received(via string, src netip.AddrPort) string {
	sentBy, rest, _ := strings.Cut(via, ";")
	var kept []string
	rport := false
	for _, p := range strings.Split(rest, ";") {
		name, _, _ := strings.Cut(p, "=")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "":
		case "rport":
			rport = true
		case "received":
		default:
			kept = append(kept, p)
		}
	}
	out := sentBy
	if rport {
		out += ";rport=" + strconv.Itoa(int(src.Port()))
	}
	out += ";received=" + src.Addr().String()
	for _, p := range kept {
		out += ";" + p
	}
	return out
}

func branch(via string) string {
	for _, p := range strings.Split(via, ";") {
		if k, v, ok := strings.Cut(p, "="); ok && strings.EqualFold(strings.TrimSpace(k), "branch") {
			return v
		}
	}
	return "z9hG4bK" + strconv.FormatInt(time.Now().UnixNano()&0xffffff, 16)
}

// scanTracker counts the distinct extensions each source addresses.
type scanTracker struct {
	mu      sync.Mutex
	sources map[netip.Addr]*scanState
}

type scanState struct {
	users    map[string]bool
	reported time.Time
}

const (
	scanThreshold = 10
	maxScanners   = 4096
	maxScanUsers  = 1000
)

func newScanTracker() *scanTracker { return &scanTracker{sources: map[netip.Addr]*scanState{}} }

// add records that src addressed user; found says src just crossed the
// threshold (again, after an hour).
func (t *scanTracker) add(src netip.Addr, user string, now time.Time) (int, []string, bool) {
	if user == "" {
		return 0, nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.sources[src]
	if !ok {
		if len(t.sources) >= maxScanners {
			clear(t.sources)
		}
		st = &scanState{users: map[string]bool{}}
		t.sources[src] = st
	}
	if len(st.users) < maxScanUsers {
		st.users[user] = true
	}
	if len(st.users) < scanThreshold || now.Sub(st.reported) < time.Hour {
		return 0, nil, false
	}
	st.reported = now
	var sample []string
	for u := range st.users {
		if len(sample) == 10 {
			break
		}
		sample = append(sample, event.Text([]byte(u), 64))
	}
	return len(st.users), sample, true
}
