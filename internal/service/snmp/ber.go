package snmp

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// BER tags SNMP uses (RFC 1157, RFC 2578, RFC 3416).
const (
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagNull        = 0x05
	tagOID         = 0x06
	tagSequence    = 0x30
	tagIPAddress   = 0x40
	tagCounter32   = 0x41
	tagGauge32     = 0x42
	tagTimeTicks   = 0x43
	tagOpaque      = 0x44
	tagCounter64   = 0x46

	tagNoSuchObject   = 0x80
	tagNoSuchInstance = 0x81
	tagEndOfMibView   = 0x82
)

// Bounds of what the codec accepts: an SNMP message is one datagram, so
// nothing in it can be longer than maxMessage, and an OID has at most 128
// sub-identifiers (RFC 2578 section 3.5).
const (
	maxMessage  = 65535
	maxOIDArcs  = 128
	maxVarBinds = 512
)

var errBER = errors.New("malformed BER")

// readTLV splits the first type-length-value of b. Only the single-byte
// tags SNMP uses and definite lengths of up to four bytes are accepted;
// the value must lie inside b.
func readTLV(b []byte) (tag byte, val, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errBER
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, nil, errBER // high tag number form: nothing in SNMP
	}
	n := int(b[1])
	off := 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, nil, nil, errBER // indefinite or absurd length
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		off += k
	}
	if n < 0 || n > maxMessage || n > len(b)-off {
		return 0, nil, nil, errBER
	}
	return tag, b[off : off+n], b[off+n:], nil
}

// expect reads one TLV of the given tag.
func expect(b []byte, want byte) (val, rest []byte, err error) {
	tag, val, rest, err := readTLV(b)
	if err != nil {
		return nil, nil, err
	}
	if tag != want {
		return nil, nil, fmt.Errorf("%w: tag 0x%02x, want 0x%02x", errBER, tag, want)
	}
	return val, rest, nil
}

// parseInt decodes a two's complement INTEGER of at most 8 bytes.
func parseInt(v []byte) (int64, error) {
	if len(v) == 0 || len(v) > 8 {
		return 0, errBER
	}
	n := int64(int8(v[0]))
	for _, c := range v[1:] {
		n = n<<8 | int64(c)
	}
	return n, nil
}

// parseUint decodes an unsigned application type (Counter32, Gauge32,
// TimeTicks, Counter64): up to 9 bytes with a leading zero.
func parseUint(v []byte) (uint64, error) {
	if len(v) == 0 || len(v) > 9 || (len(v) == 9 && v[0] != 0) {
		return 0, errBER
	}
	var n uint64
	for _, c := range v {
		n = n<<8 | uint64(c)
	}
	return n, nil
}

// OID is an object identifier.
type OID []uint32

func parseOID(v []byte) (OID, error) {
	if len(v) == 0 {
		return nil, errBER
	}
	var out OID
	var cur uint64
	for i, c := range v {
		if cur == 0 && c == 0x80 {
			return nil, errBER // non-minimal sub-identifier
		}
		cur = cur<<7 | uint64(c&0x7f)
		if cur > math.MaxUint32 && len(out) > 0 || cur > math.MaxUint32+80 {
			return nil, errBER
		}
		if c&0x80 != 0 {
			if i == len(v)-1 {
				return nil, errBER
			}
			continue
		}
		if out == nil {
			first := min(cur/40, 2)
			out = append(out, uint32(first), uint32(cur-first*40))
		} else {
			out = append(out, uint32(cur))
		}
		if len(out) > maxOIDArcs {
			return nil, errBER
		}
		cur = 0
	}
	return out, nil
}

// String writes the OID in dotted form without a leading dot.
func (o OID) String() string {
	var sb strings.Builder
	for i, a := range o {
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(strconv.FormatUint(uint64(a), 10))
	}
	return sb.String()
}

// mustOID parses a dotted OID written in the source.
func mustOID(s string) OID {
	var o OID
	for _, p := range strings.Split(strings.TrimPrefix(s, "."), ".") {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			panic("snmp: bad OID literal " + s)
		}
		o = append(o, uint32(n))
	}
	return o
}

// cmpOID orders OIDs lexicographically, as a walk visits them.
func cmpOID(a, b OID) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return len(a) - len(b)
}

func (o OID) hasPrefix(p OID) bool {
	return len(o) >= len(p) && cmpOID(o[:len(p)], p) == 0
}

// The encoder builds TLVs bottom-up: children are encoded first and
// wrapped by their parent, which is all SNMP's small messages need.

func appendLen(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	default:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
}

func tlv(tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n+5)
	out = append(out, tag)
	out = appendLen(out, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func encInt(tag byte, n int64) []byte {
	var b [8]byte
	i := 7
	for {
		b[i] = byte(n)
		n >>= 8
		if (n == 0 && b[i]&0x80 == 0) || (n == -1 && b[i]&0x80 != 0) || i == 0 {
			break
		}
		i--
	}
	return tlv(tag, b[i:])
}

func encUint(tag byte, n uint64) []byte {
	var b [9]byte
	i := 8
	for {
		b[i] = byte(n)
		n >>= 8
		if n == 0 {
			break
		}
		i--
	}
	if b[i]&0x80 != 0 {
		i--
	}
	return tlv(tag, b[i:])
}

func encOID(o OID) []byte {
	if len(o) < 2 {
		o = OID{0, 0}
	}
	body := appendArc(nil, uint64(o[0])*40+uint64(o[1]))
	for _, a := range o[2:] {
		body = appendArc(body, uint64(a))
	}
	return tlv(tagOID, body)
}

func appendArc(b []byte, n uint64) []byte {
	var tmp [10]byte
	i := len(tmp) - 1
	tmp[i] = byte(n & 0x7f)
	for n >>= 7; n > 0; n >>= 7 {
		i--
		tmp[i] = byte(n&0x7f) | 0x80
	}
	return append(b, tmp[i:]...)
}
