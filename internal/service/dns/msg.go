package dns

import (
	"encoding/binary"
	"errors"
	"strings"
)

// DNS constants used here (RFC 1035, 6891, 7873, 8914).
const (
	typeA     = 1
	typeNS    = 2
	typeCNAME = 5
	typeSOA   = 6
	typePTR   = 12
	typeMX    = 15
	typeTXT   = 16
	typeAAAA  = 28
	typeSRV   = 33
	typeOPT   = 41
	typeIXFR  = 251
	typeAXFR  = 252
	typeANY   = 255

	classIN  = 1
	classCH  = 3
	classANY = 255

	rcodeNoError  = 0
	rcodeFormErr  = 1
	rcodeServFail = 2
	rcodeNXDomain = 3
	rcodeNotImp   = 4
	rcodeRefused  = 5
	rcodeNotAuth  = 9
	rcodeBadVers  = 16

	opQuery  = 0
	opNotify = 4
	opUpdate = 5

	optNSID   = 3
	optCookie = 10
	optEDE    = 15

	edeProhibited = 18

	headerLen = 12
	maxLabels = 128 // a name has at most 127 labels plus the root
)

var typeNames = map[uint16]string{
	typeA: "A", typeNS: "NS", typeCNAME: "CNAME", typeSOA: "SOA", typePTR: "PTR", typeMX: "MX", typeTXT: "TXT",
	typeAAAA: "AAAA", typeSRV: "SRV", typeOPT: "OPT", typeIXFR: "IXFR", typeAXFR: "AXFR", typeANY: "ANY",
	13: "HINFO", 43: "DS", 46: "RRSIG", 47: "NSEC", 48: "DNSKEY", 50: "NSEC3", 64: "SVCB", 65: "HTTPS",
	99: "SPF", 257: "CAA", 10: "NULL",
}

// typeName names a type as dig prints it (TYPE<n> when unknown).
func typeName(t uint16) string {
	if s, ok := typeNames[t]; ok {
		return s
	}
	return "TYPE" + itoa(int(t))
}

func className(c uint16) string {
	switch c {
	case classIN:
		return "IN"
	case classCH:
		return "CH"
	case 4:
		return "HS"
	case 254:
		return "NONE"
	case classANY:
		return "ANY"
	}
	return "CLASS" + itoa(int(c))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

var (
	errShort = errors.New("message too short")
	errName  = errors.New("malformed name")
)

// header is the fixed part of a message.
type header struct {
	id             uint16
	flags          uint16
	qd, an, ns, ar uint16
}

func (h header) qr() bool    { return h.flags&0x8000 != 0 }
func (h header) opcode() int { return int(h.flags>>11) & 0xf }
func (h header) rd() bool    { return h.flags&0x0100 != 0 }
func (h header) cd() bool    { return h.flags&0x0010 != 0 }

// question is one entry of the question section. raw keeps the name as
// the client wrote it (case and all), for echoing.
type question struct {
	name  string // lower case, dotted, with the trailing dot
	raw   []byte // uncompressed wire form as sent
	qtype uint16
	class uint16
}

// edns is the OPT record of a request.
type edns struct {
	present bool
	size    uint16
	version uint8
	do      bool
	nsid    bool
	cookie  []byte // client cookie (8) plus any server cookie
	badOpt  bool   // a malformed option (a cookie of a forbidden length)
	multi   bool   // more than one OPT record
}

// request is a parsed query.
type request struct {
	header
	q      []question
	edns   edns
	parsed bool // the whole message parsed (else a FORMERR)
}

// parseName reads a possibly compressed name at off and returns its wire
// form (uncompressed), its presentation (lower case) and the offset after
// it in msg.
func parseName(msg []byte, off int) (wire []byte, text string, next int, err error) {
	var sb strings.Builder
	ptrs := 0
	next = -1
	labels := 0
	for {
		if off >= len(msg) {
			return nil, "", 0, errShort
		}
		l := int(msg[off])
		switch l & 0xc0 {
		case 0x00:
			if l == 0 {
				wire = append(wire, 0)
				if next < 0 {
					next = off + 1
				}
				if sb.Len() == 0 {
					sb.WriteByte('.')
				}
				if len(wire) > 255 {
					return nil, "", 0, errName
				}
				return wire, sb.String(), next, nil
			}
			if off+1+l > len(msg) {
				return nil, "", 0, errShort
			}
			labels++
			if labels >= maxLabels {
				return nil, "", 0, errName
			}
			lab := msg[off+1 : off+1+l]
			wire = append(wire, byte(l))
			wire = append(wire, lab...)
			writeLabel(&sb, lab)
			sb.WriteByte('.')
			off += 1 + l
		case 0xc0:
			if off+1 >= len(msg) {
				return nil, "", 0, errShort
			}
			if next < 0 {
				next = off + 2
			}
			ptr := int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
			ptrs++
			if ptrs > maxLabels || ptr >= off {
				return nil, "", 0, errName // loops and forward pointers
			}
			off = ptr
		default:
			return nil, "", 0, errName // 0x40/0x80: obsolete label types
		}
	}
}

// writeLabel writes a label as dig's presentation format, lower-cased.
func writeLabel(sb *strings.Builder, lab []byte) {
	for _, c := range lab {
		switch {
		case c >= 'A' && c <= 'Z':
			sb.WriteByte(c + 32)
		case c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' || c == '$':
			sb.WriteByte('\\')
			sb.WriteByte(c)
		case c <= ' ' || c >= 0x7f:
			sb.WriteByte('\\')
			sb.WriteByte('0' + c/100)
			sb.WriteByte('0' + c/10%10)
			sb.WriteByte('0' + c%10)
		default:
			sb.WriteByte(c)
		}
	}
}

// parseRequest parses a request. It returns the header whenever the
// message has one; req.parsed says whether the rest parsed too.
func parseRequest(msg []byte) (*request, error) {
	if len(msg) < headerLen {
		return nil, errShort
	}
	r := &request{header: header{
		id: binary.BigEndian.Uint16(msg), flags: binary.BigEndian.Uint16(msg[2:]),
		qd: binary.BigEndian.Uint16(msg[4:]), an: binary.BigEndian.Uint16(msg[6:]),
		ns: binary.BigEndian.Uint16(msg[8:]), ar: binary.BigEndian.Uint16(msg[10:]),
	}}
	off := headerLen
	for range int(r.qd) {
		wire, text, next, err := parseName(msg, off)
		if err != nil || next+4 > len(msg) {
			return r, errName
		}
		r.q = append(r.q, question{name: text, raw: wire,
			qtype: binary.BigEndian.Uint16(msg[next:]), class: binary.BigEndian.Uint16(msg[next+2:])})
		off = next + 4
	}
	// Answer and authority records (a NOTIFY's SOA, an UPDATE's
	// prerequisites) are skipped; additional records are read for OPT.
	total := int(r.an) + int(r.ns) + int(r.ar)
	for i := range total {
		_, text, next, err := parseName(msg, off)
		if err != nil || next+10 > len(msg) {
			return r, errShort
		}
		rtype := binary.BigEndian.Uint16(msg[next:])
		class := binary.BigEndian.Uint16(msg[next+2:])
		ttl := binary.BigEndian.Uint32(msg[next+4:])
		rdlen := int(binary.BigEndian.Uint16(msg[next+8:]))
		rdata := next + 10
		if rdata+rdlen > len(msg) {
			return r, errShort
		}
		if rtype == typeOPT && i >= int(r.an)+int(r.ns) {
			if r.edns.present || text != "." {
				r.edns.multi = true
			}
			r.edns.present = true
			r.edns.size = class
			r.edns.version = uint8(ttl >> 16)
			r.edns.do = ttl&0x8000 != 0
			if err := r.edns.parseOptions(msg[rdata : rdata+rdlen]); err != nil {
				return r, err
			}
		}
		off = rdata + rdlen
	}
	// Bytes after the last record are ignored, as BIND does.
	r.parsed = true
	return r, nil
}

func (e *edns) parseOptions(b []byte) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return errShort
		}
		code := binary.BigEndian.Uint16(b)
		n := int(binary.BigEndian.Uint16(b[2:]))
		if 4+n > len(b) {
			return errShort
		}
		val := b[4 : 4+n]
		switch code {
		case optNSID:
			e.nsid = true
		case optCookie:
			// RFC 7873: a client cookie of 8 bytes, alone or with a
			// server cookie of 8 to 32 bytes.
			if n == 8 || (n >= 16 && n <= 40) {
				e.cookie = append([]byte(nil), val...)
			} else {
				e.badOpt = true
			}
		}
		b = b[4+n:]
	}
	return nil
}

// rr is one resource record of the zone.
type rr struct {
	name  string // lower case, with the trailing dot
	wire  []byte // the owner as written, when it is not nameWire(name)
	rtype uint16
	class uint16
	ttl   uint32
	rdata []part
}

// part is a piece of rdata: raw bytes, or a domain name that may be
// compressed (NS, CNAME, SOA, MX, PTR names: RFC 3597 section 4) and is
// remembered for compression either way.
type part struct {
	raw      []byte
	name     string
	compress bool
}

func raw(b ...byte) part                { return part{raw: b} }
func name(n string, compress bool) part { return part{name: n, compress: compress} }

// builder writes a message with BIND's case-sensitive name compression.
type builder struct {
	buf   []byte
	names map[string]int // wire suffix -> offset
}

func newBuilder() *builder {
	return &builder{buf: make([]byte, headerLen, 512), names: map[string]int{}}
}

// nameWire is the wire form of a dotted presentation name (no escapes:
// zone names are built here).
func nameWire(name string) []byte {
	var out []byte
	name = strings.TrimSuffix(name, ".")
	if name != "" {
		for _, l := range strings.Split(name, ".") {
			out = append(out, byte(len(l)))
			out = append(out, l...)
		}
	}
	return append(out, 0)
}

// compressDepth is how far BIND 9.18's compression looks into a name:
// the whole name and the name less its first label are both looked up
// and remembered; deeper suffixes are not (dns_compress_findglobal).
const compressDepth = 2

// writeName writes a name in wire form, pointing at the longest suffix
// already written when compress is set, and remembers its new suffixes.
func (b *builder) writeName(wire []byte, compress bool) {
	start := len(b.buf)
	end := len(wire) - 1 // the root label
	ptr := -1
	if compress {
		for off, i := 0, 0; off < end && i < compressDepth; off, i = off+int(wire[off])+1, i+1 {
			if p, ok := b.names[string(wire[off:])]; ok {
				end, ptr = off, p
				break
			}
		}
	}
	b.buf = append(b.buf, wire[:end]...)
	if ptr >= 0 {
		b.buf = append(b.buf, 0xc0|byte(ptr>>8), byte(ptr))
	} else {
		b.buf = append(b.buf, 0)
	}
	for off, i := 0, 0; off < end && i < compressDepth; off, i = off+int(wire[off])+1, i+1 {
		if start+off >= 0x4000 {
			break
		}
		if _, ok := b.names[string(wire[off:])]; !ok {
			b.names[string(wire[off:])] = start + off
		}
	}
}

func (b *builder) u16(v uint16) { b.buf = binary.BigEndian.AppendUint16(b.buf, v) }
func (b *builder) u32(v uint32) { b.buf = binary.BigEndian.AppendUint32(b.buf, v) }

// writeRR writes one record, owner name and rdata names compressed.
func (b *builder) writeRR(r *rr) {
	if r.wire != nil {
		b.writeName(r.wire, true)
	} else {
		b.writeName(nameWire(r.name), true)
	}
	b.u16(r.rtype)
	b.u16(r.class)
	b.u32(r.ttl)
	lenAt := len(b.buf)
	b.u16(0)
	for _, p := range r.rdata {
		if p.raw != nil {
			b.buf = append(b.buf, p.raw...)
		} else {
			b.writeName(nameWire(p.name), p.compress)
		}
	}
	binary.BigEndian.PutUint16(b.buf[lenAt:], uint16(len(b.buf)-lenAt-2))
}
