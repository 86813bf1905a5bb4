package dns

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// Port is the DNS port, served over UDP and TCP.
const Port = 53

// tcpIdle is BIND's tcp-initial-timeout and tcp-idle-timeout (30 s).
const tcpIdle = 30 * time.Second

// bindVersions are the version.bind answers of the distros' BIND 9.
var bindVersions = map[string]string{
	"debian":   "9.18.49-1~deb12u3-Debian",
	"ubuntu22": "9.18.30-0ubuntu0.22.04.2-Ubuntu",
	"ubuntu20": "9.18.30-0ubuntu0.20.04.2-Ubuntu",
	"rocky9":   "9.16.23-RH",
	"centos7":  "9.11.4-P2-RedHat-9.11.4-26.P2.el7_9.16",
	"fedora":   "9.18.24",
	"alpine":   "9.18.27",
	"kali":     "9.20.4-3-Debian",
	"arch":     "9.20.0",
}

// Server is the DNS emulation of one decky.
type Server struct {
	env    serve.Env
	limits serve.PacketLimits
	resp   *responder
	open   bool // zone_mode recursive/open: recursion offered
}

var _ serve.Server = (*Server)(nil)

// New builds the DNS service of one decky; it starts nothing.
func New(env serve.Env) (serve.Server, error) {
	cfg := serve.SettingsOf(env, defaults)
	domain := cfg.Domain
	if domain == "" {
		domain = seededDomain(env.Identity)
	}
	z, err := buildZone(zoneSpec{domain: domain, hostname: env.Persona.Hostname, addrs: env.Addrs,
		extra: cfg.ExtraRecords, id: env.Identity, now: time.Now()})
	if err != nil {
		return nil, err
	}
	version := cfg.BindVersion
	if version == "" {
		version = bindVersions[env.Persona.Distro.Slug]
	}
	if version == "" {
		version = bindVersions["debian"]
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key) // BIND makes a fresh cookie-secret at start
	s := &Server{env: env, limits: serve.DefaultPacketLimits, open: cfg.ZoneMode != "auth"}
	s.resp = &responder{zone: z, chaos: chaosZones(version, env.Persona.Hostname, cfg.NSID),
		serverID: cfg.NSID, axfr: cfg.AXFR == "allow", cookieKey: key, now: time.Now}
	if s.open {
		seed := env.Identity.Bytes("dns-sinkhole", 16)
		base := netip.AddrFrom4([4]byte{10, seed[0], seed[1], 0})
		for _, a := range env.Addrs {
			if a.Unmap().Is4() {
				b := a.Unmap().As4()
				base = netip.AddrFrom4([4]byte{b[0], b[1], b[2], 0})
				break
			}
		}
		s.resp.sinkhole = func(name string) netip.Addr {
			h := sha256.Sum256(append(seed, name...))
			b := base.As4()
			b[3] = 2 + h[0]%250
			return netip.AddrFrom4(b)
		}
	}
	return s, nil
}

// chaosZones are BIND's built-in CHAOS zones of the _bind view.
func chaosZones(version, hostname, serverID string) map[string]*zone {
	out := map[string]*zone{}
	mk := func(origin string, texts ...string) {
		z := newZone(origin, classCH)
		z.add(soaRecord(z.origin, classCH, 86400, z.origin, "hostmaster."+z.origin, 0, 28800, 7200, 604800, 86400))
		ns := nameRecord(z.origin, typeNS, 0, z.origin)
		ns.class = classCH
		z.add(ns)
		for _, t := range texts {
			z.add(txtRecord(z.origin, classCH, 0, t))
		}
		out[z.origin] = z
	}
	mk("version.bind", version)
	mk("hostname.bind", hostname)
	mk("authors.bind", bindAuthors...)
	if serverID != "" {
		mk("id.server", serverID)
	} else {
		mk("id.server")
	}
	return out
}

// bindAuthors is BIND 9.18's authors.bind.
var bindAuthors = []string{"Mark Andrews", "James Brister", "Ben Cottrell", "Michael Graff", "Andreas Gustafsson",
	"Bob Halley", "Evan Hunt", "JINMEI Tatuya", "Witold Krecicki", "David Lawrence", "Scott Mann", "Danny Mayer",
	"Damien Neil", "Matt Nelson", "Jeremy C. Reed", "Michael Sawyer", "Brian Wellington", "Curtis Blackburn",
	"John H. DuBois III", "Francis Dupont"}

// Serve implements serve.Server: UDP and TCP 53 until ctx is done.
func (s *Server) Serve(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serve.UDP(gctx, s.env, Port, s.limits, s.packet) })
	g.Go(func() error { return serve.TCP(gctx, s.env, Port, s.conn) })
	return g.Wait()
}

// packet answers one UDP query.
func (s *Server) packet(_ context.Context, p *serve.Packet) {
	req, _ := parseRequest(p.Data)
	if req == nil {
		return // shorter than a header: BIND drops it
	}
	q := &query{req: req, src: p.Src.Addr(), limited: p.Limited, recursion: s.open}
	b, out := s.resp.answer(q)
	emit := func(e event.Event) {
		e.Transport, e.Src, e.Dst = "udp", event.EndpointOf(p.Src), event.EndpointOf(p.Dst)
		s.env.Events.Emit(e)
	}
	s.record(emit, q, out)
	if b != nil {
		if err := p.Reply(b); err != nil && !errors.Is(err, serve.ErrRateLimited) {
			s.env.Logger().Debug("udp reply", "err", err)
		}
	}
}

// conn serves one TCP connection: length-prefixed queries, answered in
// order, until the client closes or idles past tcpIdle.
func (s *Server) conn(ctx context.Context, c *serve.Conn) {
	src := c.Session.Source()
	addr, _ := netip.ParseAddr(src.IP)
	var lenBuf [2]byte
	msg := make([]byte, 65535)
	for ctx.Err() == nil {
		_ = c.SetReadDeadline(time.Now().Add(tcpIdle))
		if _, err := io.ReadFull(c, lenBuf[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(lenBuf[:]))
		if _, err := io.ReadFull(c, msg[:n]); err != nil {
			return
		}
		req, _ := parseRequest(msg[:n])
		if req == nil {
			c.SetCloseReason("error")
			return
		}
		q := &query{req: req, tcp: true, src: addr, recursion: s.open}
		b, out := s.resp.answer(q)
		s.record(c.Session.Emit, q, out)
		if b == nil {
			continue
		}
		_ = c.SetWriteDeadline(time.Now().Add(tcpIdle))
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...)); err != nil {
			return
		}
	}
}

var rcodeNames = map[int]string{rcodeNoError: "NOERROR", rcodeFormErr: "FORMERR", rcodeServFail: "SERVFAIL",
	rcodeNXDomain: "NXDOMAIN", rcodeNotImp: "NOTIMP", rcodeRefused: "REFUSED", rcodeNotAuth: "NOTAUTH", rcodeBadVers: "BADVERS"}

// record emits the events of one query. A source past its rate gets its
// transfers recorded but not its queries: the rate.limited event stands
// for the flood.
func (s *Server) record(emit func(event.Event), q *query, out outcome) {
	req := q.req
	f := map[string]any{"id": int(req.id), "opcode": req.opcode(), "rd": req.rd(), "edns": req.edns.present,
		"rcode": rcodeNames[out.rcode], "answers": out.answers, "truncated": out.tc, "in_zone": out.inZone}
	var qn question
	if len(req.q) > 0 {
		qn = req.q[0]
		f["qname"] = event.Text([]byte(qn.name), 512)
		f["qtype"] = typeName(qn.qtype)
		f["qclass"] = className(qn.class)
	}
	if req.edns.present {
		f["edns_size"] = int(req.edns.size)
		f["dnssec_ok"] = req.edns.do
		f["cookie"] = req.edns.cookie != nil
	}
	if out.transfer {
		outcome := "refused"
		switch {
		case out.served:
			outcome = "served"
		case out.rcode == rcodeNotAuth:
			outcome = "notauth"
		case out.rcode == rcodeFormErr:
			outcome = "formerr"
		}
		emit(event.Event{Type: "dns.zone.transfer", Outcome: map[bool]string{true: "success", false: "failure"}[out.served],
			Fields: map[string]any{"qname": f["qname"], "qtype": f["qtype"], "outcome": outcome, "records": out.answers}})
	}
	if q.limited {
		return
	}
	if out.chaos != "" {
		emit(event.Event{Type: "dns.version.probe", Fields: map[string]any{"qname": strings.TrimSuffix(qn.name, "."),
			"qtype": typeName(qn.qtype), "answer": out.chaosText}})
	}
	emit(event.Event{Type: "dns.query.received", Fields: f})
}
