package postgres

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
)

// Startup packet codes (the protocol field of a length-prefixed packet).
const (
	codeSSLRequest    = 80877103
	codeGSSENCRequest = 80877104
	codeCancelRequest = 80877102
)

// Bounds, as the server's: a startup packet is at most 10000 bytes
// (MAX_STARTUP_PACKET_LENGTH); authentication messages at most 65535
// (PG_MAX_AUTH_TOKEN_LENGTH); other messages are capped here at 1 MiB.
const (
	maxStartup    = 10000
	maxAuthMsg    = 65535
	maxMessage    = 1 << 20
	maxParams     = 64
	maxParamValue = 1024
)

// errBadLength is an invalid startup packet length: the server closes
// without a word ("invalid length of startup packet" in its log).
var errBadLength = errors.New("invalid length of startup packet")

// protoError is a frontend message the server refuses.
type protoError struct{ msg string }

func (e *protoError) Error() string { return e.msg }

// startup is a length-prefixed startup-phase packet.
type startup struct {
	code   uint32
	params [][2]string // name, value in the client's order
	raw    int         // length of the packet
}

func (s *startup) major() uint32 { return s.code >> 16 }
func (s *startup) minor() uint32 { return s.code & 0xffff }

func (s *startup) param(name string) (string, bool) {
	for _, kv := range s.params {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

// readStartup reads one startup-phase packet: SSLRequest, GSSENCRequest,
// CancelRequest or a StartupMessage (protocol 3.x: name/value pairs).
func readStartup(br *bufio.Reader) (*startup, error) {
	var hdr [8]byte
	if _, err := io.ReadFull(br, hdr[:4]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[:4]))
	if n < 8 || n > maxStartup {
		return nil, errBadLength
	}
	if _, err := io.ReadFull(br, hdr[4:8]); err != nil {
		return nil, err
	}
	body := make([]byte, n-8)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, err
	}
	s := &startup{code: binary.BigEndian.Uint32(hdr[4:8]), raw: n}
	if s.major() != 3 {
		return s, nil
	}
	// name\0value\0 ... \0, walked as ProcessStartupPacket does: the
	// buffer is read as if NUL-terminated one byte past its end, and the
	// walk must stop exactly on the last byte.
	buf := append(body[:len(body):len(body)], 0)
	cstr := func(off int) string {
		i := bytes.IndexByte(buf[off:], 0)
		return string(buf[off : off+i])
	}
	off := 0
	for off < len(body) {
		if buf[off] == 0 {
			break
		}
		name := cstr(off)
		valOff := off + len(name) + 1
		if valOff >= len(body) {
			break
		}
		val := cstr(valOff)
		off = valOff + len(val) + 1
		if len(s.params) < maxParams {
			if len(val) > maxParamValue {
				val = val[:maxParamValue]
			}
			s.params = append(s.params, [2]string{name, val})
		}
	}
	if off != len(body)-1 {
		return s, &protoError{"invalid startup packet layout: expected terminator as last byte"}
	}
	return s, nil
}

// message is one regular frontend message.
type message struct {
	typ  byte
	body []byte
}

// readMessage reads a typed message of at most max bytes.
func readMessage(br *bufio.Reader, max int) (*message, error) {
	var hdr [5]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint32(hdr[1:]))
	if n < 4 || n-4 > max {
		return nil, &protoError{"invalid message length"}
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(br, body); err != nil {
		return nil, err
	}
	return &message{typ: hdr[0], body: body}, nil
}

// reader walks a message body.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) cstring() string {
	i := bytes.IndexByte(r.b, 0)
	if i < 0 {
		r.bad = true
		r.b = nil
		return ""
	}
	s := string(r.b[:i])
	r.b = r.b[i+1:]
	return s
}

func (r *reader) int32() int32 {
	if len(r.b) < 4 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := int32(binary.BigEndian.Uint32(r.b))
	r.b = r.b[4:]
	return v
}

func (r *reader) int16() int16 {
	if len(r.b) < 2 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := int16(binary.BigEndian.Uint16(r.b))
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b) {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// saslInitial parses SASLInitialResponse: mechanism and client-first data.
func saslInitial(body []byte) (mech string, data []byte, err error) {
	r := &reader{b: body}
	mech = r.cstring()
	n := r.int32()
	if n >= 0 {
		data = r.bytes(int(n))
	}
	if r.bad {
		return "", nil, &protoError{"malformed SASLInitialResponse message"}
	}
	return mech, data, nil
}

// bindParams parses a Bind message far enough to count and read its
// parameters (text format values, capped).
func bindParams(body []byte) (portal, stmt string, params []string, err error) {
	r := &reader{b: body}
	portal = r.cstring()
	stmt = r.cstring()
	nf := int(r.int16())
	for i := 0; i < nf && !r.bad; i++ {
		r.int16()
	}
	np := int(r.int16())
	for i := 0; i < np && !r.bad; i++ {
		l := int(r.int32())
		if l == -1 {
			params = append(params, "NULL")
			continue
		}
		v := r.bytes(l)
		if len(params) < 64 {
			params = append(params, string(v[:min(len(v), 256)]))
		}
	}
	if r.bad {
		return "", "", nil, &protoError{"insufficient data left in message"}
	}
	return portal, stmt, params, nil
}

// Backend message builders.

type msgBuf struct{ b []byte }

func (m *msgBuf) start(t byte) int {
	m.b = append(m.b, t, 0, 0, 0, 0)
	return len(m.b) - 4
}

func (m *msgBuf) end(at int) {
	binary.BigEndian.PutUint32(m.b[at:], uint32(len(m.b)-at))
}

func (m *msgBuf) cstr(s string) { m.b = append(append(m.b, s...), 0) }
func (m *msgBuf) i32(v int32)   { m.b = binary.BigEndian.AppendUint32(m.b, uint32(v)) }
func (m *msgBuf) i16(v int16)   { m.b = binary.BigEndian.AppendUint16(m.b, uint16(v)) }

func (m *msgBuf) auth(code int32, data []byte) {
	at := m.start('R')
	m.i32(code)
	m.b = append(m.b, data...)
	m.end(at)
}

func (m *msgBuf) paramStatus(k, v string) {
	at := m.start('S')
	m.cstr(k)
	m.cstr(v)
	m.end(at)
}

func (m *msgBuf) ready(status byte) {
	at := m.start('Z')
	m.b = append(m.b, status)
	m.end(at)
}

func (m *msgBuf) simple(t byte) {
	at := m.start(t)
	m.end(at)
}

func (m *msgBuf) complete(tag string) {
	at := m.start('C')
	m.cstr(tag)
	m.end(at)
}

// column is one RowDescription field.
type column struct {
	name string
	oid  int32
}

// Type OIDs used by the bait catalog.
const (
	oidBool        = 16
	oidName        = 19
	oidInt8        = 20
	oidInt4        = 23
	oidText        = 25
	oidOID         = 26
	oidVarchar     = 1043
	oidTimestamptz = 1184
	oidVoid        = 2278
)

func typeSize(oid int32) int16 {
	switch oid {
	case oidBool:
		return 1
	case oidName:
		return 64
	case oidInt8, oidTimestamptz:
		return 8
	case oidInt4, oidOID, oidVoid:
		return 4
	}
	return -1
}

func (m *msgBuf) rowDesc(cols []column) {
	at := m.start('T')
	m.i16(int16(len(cols)))
	for _, c := range cols {
		m.cstr(c.name)
		m.i32(0) // table oid
		m.i16(0) // attnum
		m.i32(c.oid)
		m.i16(typeSize(c.oid))
		m.i32(-1) // typmod
		m.i16(0)  // text format
	}
	m.end(at)
}

// dataRow writes one row; a nil pointer value is NULL.
func (m *msgBuf) dataRow(vals []*string) {
	at := m.start('D')
	m.i16(int16(len(vals)))
	for _, v := range vals {
		if v == nil {
			m.i32(-1)
			continue
		}
		m.i32(int32(len(*v)))
		m.b = append(m.b, *v...)
	}
	m.end(at)
}

// pgError is an ErrorResponse's fields.
type pgError struct {
	severity string // ERROR, FATAL
	code     string
	msg      string
	detail   string
	hint     string
	position int
	file     string
	line     int
	routine  string
}

// errorResponse writes e as the server does: S, V (9.6+), C, M, D, H,
// P, F, L, R. A server before 9.6 has no V field.
func (m *msgBuf) errorResponse(e pgError, withV bool) {
	at := m.start('E')
	field := func(t byte, v string) {
		m.b = append(m.b, t)
		m.cstr(v)
	}
	field('S', e.severity)
	if withV {
		field('V', e.severity)
	}
	field('C', e.code)
	field('M', e.msg)
	if e.detail != "" {
		field('D', e.detail)
	}
	if e.hint != "" {
		field('H', e.hint)
	}
	if e.position > 0 {
		field('P', strconv.Itoa(e.position))
	}
	if e.file != "" {
		field('F', e.file)
		field('L', strconv.Itoa(e.line))
		field('R', e.routine)
	}
	m.b = append(m.b, 0)
	m.end(at)
}
