package canary

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"strings"
)

// DNS wire constants (RFC 1035).
const (
	dnsA       = 1
	dnsNS      = 2
	dnsSOA     = 6
	dnsAAAA    = 28
	classIN    = 1
	rcodeOK    = 0
	rcodeForm  = 1
	rcodeNX    = 3
	rcodeNoImp = 4
	rcodeRefus = 5
	maxDNSMsg  = 512
)

var errMalformed = errors.New("malformed dns query")

// Query is the question of a DNS query.
type Query struct {
	ID     uint16
	Flags  uint16
	Name   string // lower case, no trailing dot
	Type   uint16
	Class  uint16
	wire   []byte // the question as it came (name, type, class)
	opcode int
}

// ParseQuery reads a query's header and first question. Names with
// compression pointers, labels over 63 bytes, names over 255 bytes and
// responses are refused; trailing records are ignored.
func ParseQuery(msg []byte) (*Query, error) {
	if len(msg) < 12 {
		return nil, errMalformed
	}
	q := &Query{ID: binary.BigEndian.Uint16(msg), Flags: binary.BigEndian.Uint16(msg[2:])}
	if q.Flags&0x8000 != 0 {
		return nil, errMalformed // a response
	}
	q.opcode = int(q.Flags>>11) & 0xf
	if binary.BigEndian.Uint16(msg[4:]) != 1 {
		return q, errMalformed
	}
	off := 12
	var labels []string
	total := 0
	for {
		if off >= len(msg) {
			return q, errMalformed
		}
		n := int(msg[off])
		off++
		if n == 0 {
			break
		}
		if n > 63 || off+n > len(msg) {
			return q, errMalformed
		}
		total += n + 1
		if total > 255 {
			return q, errMalformed
		}
		labels = append(labels, strings.ToLower(string(msg[off:off+n])))
		off += n
	}
	if off+4 > len(msg) {
		return q, errMalformed
	}
	q.Type, q.Class = binary.BigEndian.Uint16(msg[off:]), binary.BigEndian.Uint16(msg[off+2:])
	q.wire = msg[12 : off+4]
	q.Name = strings.Join(labels, ".")
	return q, nil
}

// TypeName is a query type as dig writes it.
func TypeName(t uint16) string {
	switch t {
	case dnsA:
		return "A"
	case dnsNS:
		return "NS"
	case dnsSOA:
		return "SOA"
	case dnsAAAA:
		return "AAAA"
	case 5:
		return "CNAME"
	case 15:
		return "MX"
	case 16:
		return "TXT"
	case 12:
		return "PTR"
	case 33:
		return "SRV"
	case 255:
		return "ANY"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// nameWire encodes a name as labels.
func nameWire(name string) ([]byte, error) {
	name = strings.Trim(name, ".")
	var b []byte
	if name != "" {
		for _, l := range strings.Split(name, ".") {
			if l == "" || len(l) > 63 {
				return nil, errMalformed
			}
			b = append(append(b, byte(len(l))), l...)
		}
	}
	b = append(b, 0)
	if len(b) > 255 {
		return nil, errMalformed
	}
	return b, nil
}

// zoneAnswer is what the DNS listener answers for its zone.
type zoneAnswer struct {
	zone   string // lower case, no dots at the ends
	addr   netip.Addr
	serial uint32
}

// slugOf returns the label just under the zone in name ("" when name is
// not strictly under the zone).
func (z *zoneAnswer) slugOf(name string) string {
	rest, ok := strings.CutSuffix(name, "."+z.zone)
	if !ok {
		return ""
	}
	if i := strings.LastIndexByte(rest, '.'); i >= 0 {
		rest = rest[i+1:]
	}
	return rest
}

// inZone reports whether name is the zone or under it.
func (z *zoneAnswer) inZone(name string) bool {
	return name == z.zone || strings.HasSuffix(name, "."+z.zone)
}

// reply builds the response to q: live says the name's slug is a live
// token. It returns nil for queries that get no answer.
func (z *zoneAnswer) reply(q *Query, live bool) []byte {
	flags := uint16(0x8000) | uint16(q.opcode)<<11 | q.Flags&0x0100 // QR, opcode, RD echoed
	b := binary.BigEndian.AppendUint16(nil, q.ID)
	head := func(rcode int, an, ns uint16) {
		f := flags | uint16(rcode)
		if rcode != rcodeRefus && rcode != rcodeNoImp && rcode != rcodeForm {
			f |= 0x0400 // AA
		}
		b = binary.BigEndian.AppendUint16(b, f)
		qd := uint16(1)
		if q.wire == nil {
			qd = 0
		}
		b = binary.BigEndian.AppendUint16(b, qd)
		b = binary.BigEndian.AppendUint16(b, an)
		b = binary.BigEndian.AppendUint16(b, ns)
		b = binary.BigEndian.AppendUint16(b, 0)
		b = append(b, q.wire...)
	}
	switch {
	case q.wire == nil:
		head(rcodeForm, 0, 0)
		return b
	case q.opcode != 0:
		head(rcodeNoImp, 0, 0)
		return b
	case q.Class != classIN || !z.inZone(q.Name):
		head(rcodeRefus, 0, 0)
		return b
	}
	zoneWire, _ := nameWire(z.zone)
	soa := func() {
		b = append(b, zoneWire...)
		b = binary.BigEndian.AppendUint16(b, dnsSOA)
		b = binary.BigEndian.AppendUint16(b, classIN)
		b = binary.BigEndian.AppendUint32(b, 300)
		ns, _ := nameWire("ns1." + z.zone)
		mbox, _ := nameWire("hostmaster." + z.zone)
		rd := append(append([]byte{}, ns...), mbox...)
		for _, v := range []uint32{z.serial, 7200, 3600, 1209600, 300} {
			rd = binary.BigEndian.AppendUint32(rd, v)
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(rd)))
		b = append(b, rd...)
	}
	switch {
	case q.Name == z.zone && q.Type == dnsSOA:
		head(rcodeOK, 1, 0)
		soa()
	case live && q.Type == dnsA && z.addr.Is4():
		head(rcodeOK, 1, 0)
		b = append(b, 0xc0, 12) // the question's name
		b = binary.BigEndian.AppendUint16(b, dnsA)
		b = binary.BigEndian.AppendUint16(b, classIN)
		b = binary.BigEndian.AppendUint32(b, 60)
		b = binary.BigEndian.AppendUint16(b, 4)
		a4 := z.addr.As4()
		b = append(b, a4[:]...)
	case live || q.Name == z.zone:
		head(rcodeOK, 0, 1) // NODATA
		soa()
	default:
		head(rcodeNX, 0, 1)
		soa()
	}
	return b
}
