package dns

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"time"
)

// BIND 9.18's EDNS defaults.
const (
	ednsSize      = 1232 // edns-udp-size and max-udp-size
	noEDNSMaxSize = 512
)

// query is one request in its context.
type query struct {
	req       *request
	tcp       bool
	src       netip.Addr
	limited   bool // the source is past its rate (UDP)
	recursion bool // recursion is offered to this client
}

// outcome is what an answer did, for the event.
type outcome struct {
	rcode     int
	answers   int
	aa, tc    bool
	transfer  bool // an AXFR or IXFR
	served    bool // the transfer got the zone
	chaos     string
	chaosText string
	inZone    bool
}

// responder answers queries as the persona's BIND does.
type responder struct {
	zone      *zone
	chaos     map[string]*zone // version.bind and friends
	serverID  string           // NSID and id.server; "" means none
	axfr      bool             // transfers allowed (allow-transfer { any; })
	sinkhole  func(name string) netip.Addr
	cookieKey []byte
	now       func() time.Time
}

// answer builds the reply to q, or nil when BIND stays silent.
func (s *responder) answer(q *query) ([]byte, outcome) {
	req := q.req
	var out outcome
	if req.qr() {
		return nil, out // a response: BIND drops it
	}
	m := &reply{q: q, rcode: rcodeNoError}
	switch {
	case !req.parsed || req.edns.multi || req.edns.badOpt:
		m.rcode = rcodeFormErr
		m.noQuestion = !req.parsed
		m.noOPT = req.edns.multi
	case req.edns.present && req.edns.version > 0:
		m.rcode = rcodeBadVers
	case req.opcode() == opQuery:
		s.query(m, &out)
	case req.opcode() == opNotify:
		s.notify(m)
	case req.opcode() == opUpdate:
		m.rcode = rcodeRefused
		if len(req.q) != 1 {
			m.rcode = rcodeFormErr
		}
	default:
		m.rcode = rcodeNotImp
		m.noQuestion = true
	}
	out.rcode, out.aa = m.rcode, m.aa
	for _, set := range m.answer {
		out.answers += len(set.rrs)
	}
	b := m.render(s)
	out.tc = len(b) > 2 && b[2]&0x02 != 0
	return b, out
}

func (s *responder) query(m *reply, out *outcome) {
	req := m.q.req
	if len(req.q) != 1 {
		// A cookie-only query (RFC 7873 5.4) is answered with a cookie.
		if len(req.q) == 0 && req.edns.cookie != nil {
			return
		}
		m.rcode = rcodeFormErr
		return
	}
	q := req.q[0]
	switch q.qtype {
	case typeAXFR, typeIXFR:
		out.transfer = true
		s.transfer(m, q, out)
		return
	case 253, 254: // MAILB, MAILA
		m.rcode = rcodeNotImp
		return
	default:
		if isMeta(q.qtype) {
			m.rcode = rcodeFormErr
			return
		}
	}
	if q.class == classANY || q.class == 254 {
		m.rcode = rcodeFormErr
		return
	}
	var z *zone
	switch q.class {
	case classIN:
		if inZone(q.name, s.zone.origin) {
			z = s.zone
		}
	case classCH:
		for origin, cz := range s.chaos {
			if inZone(q.name, origin) {
				z = cz
			}
		}
		if z != nil {
			out.chaos = z.origin
		}
	}
	if z == nil {
		if q.class == classIN && s.sinkhole != nil && m.q.recursion {
			s.sinkholed(m, q)
			return
		}
		m.rcode = rcodeRefused
		if q.class == classIN {
			m.ede = edeProhibited // recursion and the cache are denied
		}
		return
	}
	out.inZone = true
	m.aa = true
	s.lookup(m, z, q)
	if z.class == classCH && len(m.answer) > 0 {
		// BIND's built-in zones answer under the name as asked.
		set := m.answer[0]
		rrs := make([]*rr, len(set.rrs))
		for i, r := range set.rrs {
			c := *r
			c.wire = q.raw
			rrs[i] = &c
		}
		m.answer[0] = rrset{rtype: set.rtype, rrs: rrs}
	}
	if out.chaos != "" && len(m.answer) > 0 {
		out.chaosText = txtString(m.answer[0])
	}
}

// lookup answers q from z as BIND's query_find does for a zone it is
// authoritative for (no wildcards, no delegations below the apex).
func (s *responder) lookup(m *reply, z *zone, q question) {
	name := q.name
	minimal := m.q.req.rd() // minimal-responses no-auth-recursive
	for hops := 0; ; hops++ {
		if !z.exists(name) {
			m.rcode = rcodeNXDomain
			m.authority = append(m.authority, rrset{rtype: typeSOA, rrs: []*rr{z.negativeSOA()}})
			return
		}
		if q.qtype == typeANY {
			sets := z.nodes[name]
			if len(sets) == 0 {
				break
			}
			if !m.q.tcp {
				sets = sets[:1] // minimal ANY over UDP (RFC 8482)
			}
			for _, set := range sets {
				m.answer = append(m.answer, s.rotate(set))
			}
			return
		}
		if set := z.find(name, q.qtype); set != nil {
			m.answer = append(m.answer, s.rotate(*set))
			s.additional(m, z, *set)
			if !minimal && !(q.qtype == typeNS && name == z.origin) {
				s.addNS(m, z)
			}
			return
		}
		cname := z.find(name, typeCNAME)
		if cname == nil || hops > 16 {
			break
		}
		m.answer = append(m.answer, *cname)
		name = cname.rrs[0].rdata[0].name
		if !inZone(name, z.origin) {
			return // the target is elsewhere: the client resolves it
		}
	}
	// NODATA.
	m.authority = append(m.authority, rrset{rtype: typeSOA, rrs: []*rr{z.negativeSOA()}})
}

// addNS puts the zone's NS RRset in authority and its addresses in
// additional, as BIND does for a non-recursive query.
func (s *responder) addNS(m *reply, z *zone) {
	ns := z.find(z.origin, typeNS)
	if ns == nil {
		return
	}
	set := s.rotate(*ns)
	m.authority = append(m.authority, set)
	s.additional(m, z, set)
}

// additional adds the addresses of the names an RRset points to.
func (s *responder) additional(m *reply, z *zone, set rrset) {
	for _, r := range set.rrs {
		var target string
		switch r.rtype {
		case typeNS, typeMX, typeSRV:
			target = r.rdata[len(r.rdata)-1].name
		default:
			continue
		}
		if !inZone(target, z.origin) {
			if r.rtype != typeNS {
				m.ede = edeProhibited // BIND looked in a cache it may not use
			}
			continue
		}
		found := 0
		for _, t := range []uint16{typeA, typeAAAA} {
			if a := z.find(target, t); a != nil {
				found++
				if !m.has(target, t) {
					m.additional = append(m.additional, s.rotate(*a))
				}
			}
		}
		if found < 2 && r.rtype != typeNS {
			// For a missing address type BIND tries its cache, which
			// this client may not use: it says so (NS glue does not).
			m.ede = edeProhibited
		}
	}
}

// rotate returns an RRset in BIND 9.18's default (random) order.
func (s *responder) rotate(set rrset) rrset {
	if len(set.rrs) < 2 {
		return set
	}
	rrs := append([]*rr(nil), set.rrs...)
	rand.Shuffle(len(rrs), func(i, j int) { rrs[i], rrs[j] = rrs[j], rrs[i] })
	return rrset{rtype: set.rtype, rrs: rrs}
}

// transfer answers AXFR and IXFR: refused as with allow-transfer { none; },
// or the whole zone over TCP when transfers are allowed.
func (s *responder) transfer(m *reply, q question, out *outcome) {
	switch {
	case q.class != classIN:
		m.rcode = rcodeRefused
		return
	case q.name != s.zone.origin:
		m.rcode = rcodeNotAuth
		return
	case !s.axfr:
		m.rcode = rcodeRefused // allow-transfer { none; }
		m.ede = edeProhibited
		return
	}
	m.aa = true
	out.served = true
	soa := rrset{rtype: typeSOA, rrs: []*rr{s.zone.soa}}
	m.answer = append(m.answer, soa)
	if !m.q.tcp {
		// Over UDP BIND answers an IXFR with its SOA alone ("use TCP"),
		// and an AXFR likewise.
		return
	}
	for _, n := range s.zone.names {
		for _, set := range s.zone.nodes[n] {
			if set.rtype != typeSOA {
				m.answer = append(m.answer, set)
			}
		}
	}
	m.answer = append(m.answer, soa)
}

// notify answers a NOTIFY: BIND acknowledges one for a zone it is
// primary for (and ignores it), and refuses others.
func (s *responder) notify(m *reply) {
	req := m.q.req
	if len(req.q) != 1 {
		m.rcode = rcodeFormErr
		return
	}
	if q := req.q[0]; q.class == classIN && q.name == s.zone.origin {
		m.aa = true
		return
	}
	m.rcode = rcodeNotAuth
}

// sinkholed answers an out-of-zone name for a client offered recursion:
// a seeded address for A, NODATA-like emptiness for the rest.
func (s *responder) sinkholed(m *reply, q question) {
	if q.qtype == typeA {
		m.answer = append(m.answer, rrset{rtype: typeA, rrs: []*rr{aRecord(q.name, 300, s.sinkhole(q.name))}})
	}
}

// reply is a response being assembled.
type reply struct {
	q          *query
	rcode      int
	aa         bool
	noQuestion bool
	noOPT      bool
	ede        int
	answer     []rrset
	authority  []rrset
	additional []rrset
}

func (m *reply) has(name string, t uint16) bool {
	for _, sec := range [][]rrset{m.answer, m.additional} {
		for _, s := range sec {
			if s.rtype == t && s.rrs[0].name == name {
				return true
			}
		}
	}
	return false
}

// render writes the reply, truncating it to what the client can take
// over UDP: whole RRsets of answer and authority or TC, and additional
// RRsets only while they fit.
func (m *reply) render(s *responder) []byte {
	req := m.q.req
	b := newBuilder()
	flags := uint16(0x8000) | uint16(req.opcode())<<11 | req.flags&0x0100 // QR, opcode, RD
	if m.aa {
		flags |= 0x0400
	}
	if m.q.recursion {
		flags |= 0x0080
	}
	if req.cd() && m.rcode != rcodeFormErr {
		flags |= 0x0010
	}
	opt := m.opt(s, true)
	limit := 65535
	if !m.q.tcp {
		limit = noEDNSMaxSize
		if req.edns.present && m.rcode != rcodeFormErr {
			// BIND takes a client's size below 512 at its word.
			limit = min(int(req.edns.size), ednsSize)
		}
	}
	room := limit - len(opt)
	var counts [4]uint16
	if !m.noQuestion {
		for _, q := range req.q {
			b.writeName(q.raw, true)
			b.u16(q.qtype)
			b.u16(q.class)
			counts[0]++
		}
	}
	if m.q.limited {
		// Past its rate a source gets BIND's RRL "slip": the question
		// and TC, never more than it sent.
		room = len(b.buf)
	}
	truncated, cut := false, false
	sections := [][]rrset{m.answer, m.authority, m.additional}
	for i, sec := range sections {
		if cut {
			break // BIND stops rendering at the first section that overflows
		}
		for _, set := range sec {
			mark, names := len(b.buf), len(b.names)
			for _, r := range set.rrs {
				b.writeRR(r)
			}
			if len(b.buf) > room {
				b.buf = b.buf[:mark]
				if names != len(b.names) {
					for k, v := range b.names {
						if v >= mark {
							delete(b.names, k)
						}
					}
				}
				// Only an answer that does not fit sets TC; authority and
				// additional records are left out silently, and so is
				// the EDE option.
				if i == 0 {
					truncated = true
				}
				cut = true
				break
			}
			counts[i+1] += uint16(len(set.rrs))
		}
	}
	if truncated {
		flags |= 0x0200
	}
	if cut && m.ede != 0 {
		opt = m.opt(s, false)
	}
	b.buf = append(b.buf, opt...)
	if opt != nil {
		counts[3]++
	}
	binary.BigEndian.PutUint16(b.buf[0:], req.id)
	binary.BigEndian.PutUint16(b.buf[2:], flags|uint16(m.rcode&0xf))
	for i, c := range counts {
		binary.BigEndian.PutUint16(b.buf[4+2*i:], c)
	}
	return b.buf
}

// opt is the OPT record BIND adds when the request had one: its UDP size,
// the extended rcode, DO echoed, then NSID, COOKIE and EDE options.
func (m *reply) opt(s *responder, withEDE bool) []byte {
	req := m.q.req
	if !req.edns.present || m.noOPT || (m.rcode == rcodeFormErr && !req.parsed) {
		return nil
	}
	var o []byte
	if req.edns.nsid && s.serverID != "" && m.rcode != rcodeFormErr {
		o = binary.BigEndian.AppendUint16(o, optNSID)
		o = binary.BigEndian.AppendUint16(o, uint16(len(s.serverID)))
		o = append(o, s.serverID...)
	}
	if c := req.edns.cookie; c != nil && !m.q.limited && m.rcode != rcodeBadVers {
		o = binary.BigEndian.AppendUint16(o, optCookie)
		o = binary.BigEndian.AppendUint16(o, 24)
		o = append(o, c[:8]...)
		o = append(o, s.serverCookie(c[:8], m.q.src)...)
	}
	if m.ede != 0 && withEDE && !m.q.limited {
		o = binary.BigEndian.AppendUint16(o, optEDE)
		o = binary.BigEndian.AppendUint16(o, 2)
		o = binary.BigEndian.AppendUint16(o, uint16(m.ede))
	}
	r := []byte{0}
	r = binary.BigEndian.AppendUint16(r, typeOPT)
	r = binary.BigEndian.AppendUint16(r, ednsSize)
	ttl := uint32(m.rcode>>4) << 24
	if req.edns.do {
		ttl |= 0x8000
	}
	r = binary.BigEndian.AppendUint32(r, ttl)
	r = binary.BigEndian.AppendUint16(r, uint16(len(o)))
	return append(r, o...)
}

// serverCookie is a BIND 9.18 style server cookie (RFC 9018): version 1,
// three reserved bytes, the time, and a keyed hash of the client cookie,
// that header and the client address.
func (s *responder) serverCookie(client []byte, src netip.Addr) []byte {
	out := []byte{1, 0, 0, 0}
	out = binary.BigEndian.AppendUint32(out, uint32(s.now().Unix()))
	h := hmac.New(sha256.New, s.cookieKey)
	h.Write(client)
	h.Write(out)
	h.Write(src.AsSlice())
	return append(out, h.Sum(nil)[:8]...)
}

// txtString is the first string of a TXT record.
func txtString(set rrset) string {
	if set.rtype != typeTXT || len(set.rrs) == 0 || len(set.rrs[0].rdata) == 0 {
		return ""
	}
	d := set.rrs[0].rdata[0].raw
	if len(d) == 0 || int(d[0])+1 > len(d) {
		return ""
	}
	return string(d[1 : 1+int(d[0])])
}

// isMeta says whether a type may not appear in a question: OPT and the
// meta range other than IXFR, AXFR and ANY.
func isMeta(t uint16) bool {
	return t == typeOPT || t >= 128 && t <= 254 && t != typeIXFR && t != typeAXFR
}
