package mssql

import (
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"unicode/utf16"
)

// TDS (MS-TDS) packet framing, the PRELOGIN and LOGIN7 messages and the
// tokens a failed login answers with.

// Packet types (MS-TDS 2.2.3.1.1).
const (
	pktSQLBatch = 0x01
	pktRPC      = 0x03
	pktReply    = 0x04
	pktLogin7   = 0x10
	pktSSPI     = 0x11
	pktPrelogin = 0x12
)

// statusEOM ends a message.
const statusEOM = 0x01

// Bounds: a packet is at most 32767 bytes (SQL Server's maximum packet
// size), a message (LOGIN7 with a long SSPI blob) at most 64 KiB.
const (
	maxPacket  = 32767
	maxMessage = 64 << 10
)

var errTDS = errors.New("malformed TDS packet")

// message is one TDS message: the type of its packets and their payloads
// joined.
type message struct {
	Type byte
	Data []byte
}

// readMessage reads packets until one carries the end-of-message status.
func readMessage(r io.Reader) (*message, error) {
	m := &message{}
	for first := true; ; first = false {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint16(hdr[2:]))
		if n < 8 || n > maxPacket || (!first && hdr[0] != m.Type) {
			return nil, errTDS
		}
		m.Type = hdr[0]
		if len(m.Data)+n-8 > maxMessage {
			return nil, errTDS
		}
		start := len(m.Data)
		m.Data = append(m.Data, make([]byte, n-8)...)
		if _, err := io.ReadFull(r, m.Data[start:]); err != nil {
			return nil, err
		}
		if hdr[1]&statusEOM != 0 {
			return m, nil
		}
	}
}

// packet frames data as one message of packets of at most 4096 bytes
// (the default packet size before login).
func packet(typ byte, data []byte) []byte {
	const size = 4096
	var out []byte
	id := byte(1)
	for {
		chunk := data[:min(len(data), size-8)]
		data = data[len(chunk):]
		status := byte(0)
		if len(data) == 0 {
			status = statusEOM
		}
		out = append(out, typ, status, 0, 0, 0, 0, id, 0)
		binary.BigEndian.PutUint16(out[len(out)-6:], uint16(8+len(chunk)))
		out = append(out, chunk...)
		id++
		if len(data) == 0 {
			return out
		}
	}
}

// PRELOGIN option tokens (2.2.6.5).
const (
	optVersion    = 0x00
	optEncryption = 0x01
	optInstOpt    = 0x02
	optThreadID   = 0x03
	optMARS       = 0x04
	optTraceID    = 0x05
	optFedAuth    = 0x06
	optNonce      = 0x07
	optTerminator = 0xff
)

// Encryption values.
const (
	encryptOff    = 0x00
	encryptOn     = 0x01
	encryptNotSup = 0x02
	encryptReq    = 0x03
)

// prelogin is a client's PRELOGIN: the options in the order sent.
type prelogin struct {
	Options  []byte // option tokens, in order
	Version  []byte
	Encrypt  byte
	Instance string
	ThreadID uint32
	MARS     bool
}

// parsePrelogin reads the option table and the values it points at.
func parsePrelogin(b []byte) (*prelogin, error) {
	p := &prelogin{Encrypt: encryptNotSup}
	for i := 0; ; i += 5 {
		if i >= len(b) {
			return nil, errTDS
		}
		tok := b[i]
		if tok == optTerminator {
			return p, nil
		}
		if i+5 > len(b) || len(p.Options) >= 16 {
			return nil, errTDS
		}
		off, n := int(binary.BigEndian.Uint16(b[i+1:])), int(binary.BigEndian.Uint16(b[i+3:]))
		if off+n > len(b) {
			return nil, errTDS
		}
		v := b[off : off+n]
		p.Options = append(p.Options, tok)
		switch tok {
		case optVersion:
			p.Version = v
		case optEncryption:
			if n >= 1 {
				p.Encrypt = v[0]
			}
		case optInstOpt:
			s := string(v)
			if k := strings.IndexByte(s, 0); k >= 0 {
				s = s[:k]
			}
			p.Instance = s
		case optThreadID:
			if n >= 4 {
				p.ThreadID = binary.BigEndian.Uint32(v)
			}
		case optMARS:
			p.MARS = n >= 1 && v[0] != 0
		}
	}
}

// preloginReply answers with the options SQL Server echoes, in the
// client's order: VERSION, ENCRYPTION, INSTOPT (0: the instance matches),
// THREADID (empty), MARS (off), FEDAUTHREQUIRED (off). TRACEID and
// NONCEOPT are not echoed.
func preloginReply(client []byte, version [4]int, encrypt byte) []byte {
	type opt struct {
		tok byte
		val []byte
	}
	var opts []opt
	seen := map[byte]bool{}
	for _, t := range append([]byte{optVersion, optEncryption}, client...) {
		if seen[t] {
			continue
		}
		seen[t] = true
		switch t {
		case optVersion:
			v := []byte{byte(version[0]), byte(version[1]), 0, 0, 0, 0}
			binary.BigEndian.PutUint16(v[2:], uint16(version[2]))
			opts = append(opts, opt{t, v})
		case optEncryption:
			opts = append(opts, opt{t, []byte{encrypt}})
		case optInstOpt, optMARS, optFedAuth:
			opts = append(opts, opt{t, []byte{0}})
		case optThreadID:
			opts = append(opts, opt{t, nil})
		}
	}
	head := 5*len(opts) + 1
	var table, data []byte
	for _, o := range opts {
		table = append(table, o.tok, 0, 0, 0, 0)
		binary.BigEndian.PutUint16(table[len(table)-4:], uint16(head+len(data)))
		binary.BigEndian.PutUint16(table[len(table)-2:], uint16(len(o.val)))
		data = append(data, o.val...)
	}
	return append(append(table, optTerminator), data...)
}

// login7 is what a LOGIN7 told (2.2.6.4).
type login7 struct {
	TDSVersion   uint32
	PacketSize   uint32
	ClientVer    uint32
	ClientPID    uint32
	Flags1       byte
	Flags2       byte
	TypeFlags    byte
	Flags3       byte
	Host, User   string
	Password     []byte // de-obfuscated, UTF-16LE as sent
	App, Server  string
	Library      string // the client interface library
	Language     string
	Database     string
	ClientMAC    []byte
	SSPI         []byte
	AttachDBFile string
}

// Integrated says the client asks for Windows (SSPI) authentication.
func (l *login7) Integrated() bool { return l.Flags2&0x80 != 0 }

// parseLogin7 reads a LOGIN7 message, every offset checked against it.
func parseLogin7(b []byte) (*login7, error) {
	if len(b) < 94 {
		return nil, errTDS
	}
	le16 := func(at int) int { return int(binary.LittleEndian.Uint16(b[at:])) }
	l := &login7{
		TDSVersion: binary.LittleEndian.Uint32(b[4:]), PacketSize: binary.LittleEndian.Uint32(b[8:]),
		ClientVer: binary.LittleEndian.Uint32(b[12:]), ClientPID: binary.LittleEndian.Uint32(b[16:]),
		Flags1: b[24], Flags2: b[25], TypeFlags: b[26], Flags3: b[27],
	}
	field := func(at int, chars bool) ([]byte, error) {
		off, n := le16(at), le16(at+2)
		if chars {
			n *= 2
		}
		if n == 0 {
			return nil, nil
		}
		if off+n > len(b) {
			return nil, errTDS
		}
		return b[off : off+n], nil
	}
	var err error
	text := func(at int) string {
		if err != nil {
			return ""
		}
		var v []byte
		v, err = field(at, true)
		return fromUCS2(v)
	}
	l.Host, l.User = text(36), text(40)
	pw, perr := field(44, true)
	if perr != nil {
		return nil, perr
	}
	l.Password = deobfuscate(pw)
	l.App, l.Server = text(48), text(52)
	l.Library, l.Language, l.Database = text(60), text(64), text(68)
	if err != nil {
		return nil, err
	}
	l.ClientMAC = append([]byte(nil), b[72:78]...)
	sspiLen := le16(80)
	if sspiLen == 0xffff && len(b) >= 94 {
		sspiLen = int(binary.LittleEndian.Uint32(b[90:]))
	}
	if off := le16(78); sspiLen > 0 {
		if off+sspiLen > len(b) || sspiLen > maxMessage {
			return nil, errTDS
		}
		l.SSPI = b[off : off+sspiLen]
	}
	l.AttachDBFile = text(82)
	return l, err
}

// deobfuscate undoes the LOGIN7 password scrambling: XOR 0xA5, then swap
// the nibbles of every byte.
func deobfuscate(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		c ^= 0xa5
		out[i] = c<<4 | c>>4
	}
	return out
}

func fromUCS2(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func ucs2(s string) []byte {
	var b []byte
	for _, c := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	return b
}

// Tokens (2.2.7).
const (
	tokenError = 0xaa
	tokenDone  = 0xfd
	tokenSSPI  = 0xed
)

// errorToken is an ERROR token as SQL Server writes it for TDS 7.2 and
// later (a four-byte line number; two bytes before).
func errorToken(number int, state, class byte, msg, server, proc string, line int, tds72 bool) []byte {
	var body []byte
	body = binary.LittleEndian.AppendUint32(body, uint32(number))
	body = append(body, state, class)
	m := ucs2(msg)
	body = binary.LittleEndian.AppendUint16(body, uint16(len(m)/2))
	body = append(body, m...)
	s := ucs2(server)
	body = append(body, byte(len(s)/2))
	body = append(body, s...)
	p := ucs2(proc)
	body = append(body, byte(len(p)/2))
	body = append(body, p...)
	if tds72 {
		body = binary.LittleEndian.AppendUint32(body, uint32(line))
	} else {
		body = binary.LittleEndian.AppendUint16(body, uint16(line))
	}
	out := []byte{tokenError}
	out = binary.LittleEndian.AppendUint16(out, uint16(len(body)))
	return append(out, body...)
}

// doneError is the DONE token closing a failed login: status DONE_ERROR,
// no row count (eight bytes from TDS 7.2, four before).
func doneError(tds72 bool) []byte {
	out := []byte{tokenDone, 0x02, 0x00, 0x00, 0x00}
	if tds72 {
		return append(out, make([]byte, 8)...)
	}
	return append(out, make([]byte, 4)...)
}

// sspiToken carries the server's SSPI (NTLM or SPNEGO) answer.
func sspiToken(b []byte) []byte {
	out := []byte{tokenSSPI}
	out = binary.LittleEndian.AppendUint16(out, uint16(len(b)))
	return append(out, b...)
}
