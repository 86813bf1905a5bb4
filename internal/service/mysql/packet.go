package mysql

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Capability flags (include/mysql_com.h).
const (
	clientLongPassword     = 1 << 0
	clientFoundRows        = 1 << 1
	clientLongFlag         = 1 << 2
	clientConnectWithDB    = 1 << 3
	clientNoSchema         = 1 << 4
	clientCompress         = 1 << 5
	clientODBC             = 1 << 6
	clientLocalFiles       = 1 << 7
	clientIgnoreSpace      = 1 << 8
	clientProtocol41       = 1 << 9
	clientInteractive      = 1 << 10
	clientSSL              = 1 << 11
	clientIgnoreSigpipe    = 1 << 12
	clientTransactions     = 1 << 13
	clientReserved         = 1 << 14
	clientSecureConnection = 1 << 15
	clientMultiStatements  = 1 << 16
	clientMultiResults     = 1 << 17
	clientPSMultiResults   = 1 << 18
	clientPluginAuth       = 1 << 19
	clientConnectAttrs     = 1 << 20
	clientPluginAuthLenenc = 1 << 21
	clientExpiredPasswords = 1 << 22
	clientSessionTrack     = 1 << 23
	clientDeprecateEOF     = 1 << 24
	clientOptionalMetadata = 1 << 25
	clientZstd             = 1 << 26
	clientQueryAttributes  = 1 << 27
)

var capNames = []string{"LONG_PASSWORD", "FOUND_ROWS", "LONG_FLAG", "CONNECT_WITH_DB", "NO_SCHEMA",
	"COMPRESS", "ODBC", "LOCAL_FILES", "IGNORE_SPACE", "PROTOCOL_41", "INTERACTIVE", "SSL",
	"IGNORE_SIGPIPE", "TRANSACTIONS", "RESERVED", "SECURE_CONNECTION", "MULTI_STATEMENTS",
	"MULTI_RESULTS", "PS_MULTI_RESULTS", "PLUGIN_AUTH", "CONNECT_ATTRS", "PLUGIN_AUTH_LENENC_CLIENT_DATA",
	"CAN_HANDLE_EXPIRED_PASSWORDS", "SESSION_TRACK", "DEPRECATE_EOF", "OPTIONAL_RESULTSET_METADATA",
	"ZSTD_COMPRESSION", "QUERY_ATTRIBUTES", "MULTI_FACTOR_AUTHENTICATION", "CAPABILITY_EXTENSION",
	"SSL_VERIFY_SERVER_CERT", "REMEMBER_OPTIONS"}

func capList(c uint32) []string {
	var out []string
	for i, n := range capNames {
		if c&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Bounds of what a client may send before it is authenticated.
const (
	maxHandshake = 64 << 10
	maxAttrs     = 64
	maxAttrLen   = 1024
	maxUser      = 512
)

var errPacketTooLarge = errors.New("packet too large")

// readPacket reads one packet of at most max bytes and returns its payload
// and sequence id. The 3-byte length allows 16 MiB; anything above max is
// refused before the body is read.
func readPacket(r io.Reader, max int) ([]byte, byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, 0, err
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	if n > max {
		return nil, h[3], errPacketTooLarge
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, h[3], err
	}
	return p, h[3], nil
}

func writePacket(w io.Writer, seq byte, payload []byte) error {
	b := make([]byte, 4, 4+len(payload))
	b[0], b[1], b[2], b[3] = byte(len(payload)), byte(len(payload)>>8), byte(len(payload)>>16), seq
	_, err := w.Write(append(b, payload...))
	return err
}

// errPacket builds an ERR packet (protocol 4.1 form).
func errPacket(code uint16, state, msg string) []byte {
	b := []byte{0xff, byte(code), byte(code >> 8), '#'}
	b = append(b, state...)
	return append(b, msg...)
}

// handshakeResponse is a parsed HandshakeResponse41 (or 320).
type handshakeResponse struct {
	caps       uint32
	maxPacket  uint32
	charset    byte
	user       []byte
	auth       []byte
	db         []byte
	plugin     string
	attrs      [][2]string
	sslRequest bool
	zstdLevel  int
}

type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("short packet")

func (r *reader) n(k int) []byte {
	if r.err != nil {
		return nil
	}
	if k < 0 || k > len(r.b) {
		r.err = errShort
		return nil
	}
	out := r.b[:k]
	r.b = r.b[k:]
	return out
}

func (r *reader) nul() []byte {
	if r.err != nil {
		return nil
	}
	i := bytes.IndexByte(r.b, 0)
	if i < 0 {
		// A missing terminator at the very end is tolerated, as the
		// server does for the last string of a packet.
		out := r.b
		r.b = nil
		return out
	}
	out := r.b[:i]
	r.b = r.b[i+1:]
	return out
}

func (r *reader) lenenc() uint64 {
	b := r.n(1)
	if r.err != nil {
		return 0
	}
	switch b[0] {
	case 0xfc:
		v := r.n(2)
		if r.err != nil {
			return 0
		}
		return uint64(binary.LittleEndian.Uint16(v))
	case 0xfd:
		v := r.n(3)
		if r.err != nil {
			return 0
		}
		return uint64(v[0]) | uint64(v[1])<<8 | uint64(v[2])<<16
	case 0xfe:
		v := r.n(8)
		if r.err != nil {
			return 0
		}
		return binary.LittleEndian.Uint64(v)
	case 0xfb, 0xff:
		r.err = fmt.Errorf("bad length-encoded integer 0x%x", b[0])
		return 0
	}
	return uint64(b[0])
}

func (r *reader) lenencStr() []byte {
	n := r.lenenc()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errShort
		return nil
	}
	return r.n(int(n))
}

// parseHandshakeResponse parses what the client sends after the greeting.
// A 32-byte packet with CLIENT_SSL is an SSLRequest.
func parseHandshakeResponse(p []byte) (*handshakeResponse, error) {
	r := &reader{b: p}
	h := &handshakeResponse{}
	if len(p) < 4 {
		return nil, errShort
	}
	caps16 := binary.LittleEndian.Uint16(p)
	if caps16&clientProtocol41 == 0 {
		// HandshakeResponse320: caps(2), max packet(3), user, auth.
		r.n(2)
		mp := r.n(3)
		if r.err != nil {
			return nil, r.err
		}
		h.caps = uint32(caps16)
		h.maxPacket = uint32(mp[0]) | uint32(mp[1])<<8 | uint32(mp[2])<<16
		h.user = r.nul()
		if caps16&clientConnectWithDB != 0 {
			h.auth = r.nul()
			h.db = r.nul()
		} else {
			h.auth = r.b
		}
		return h, capUser(h)
	}
	c := r.n(4)
	mp := r.n(4)
	cs := r.n(1)
	r.n(23)
	if r.err != nil {
		return nil, r.err
	}
	h.caps = binary.LittleEndian.Uint32(c)
	h.maxPacket = binary.LittleEndian.Uint32(mp)
	h.charset = cs[0]
	if len(r.b) == 0 && h.caps&clientSSL != 0 {
		h.sslRequest = true
		return h, nil
	}
	h.user = r.nul()
	switch {
	case h.caps&clientPluginAuthLenenc != 0:
		h.auth = r.lenencStr()
	case h.caps&clientSecureConnection != 0:
		n := r.n(1)
		if r.err == nil {
			h.auth = r.n(int(n[0]))
		}
	default:
		h.auth = r.nul()
	}
	if r.err != nil {
		return nil, r.err
	}
	if h.caps&clientConnectWithDB != 0 && len(r.b) > 0 {
		h.db = r.nul()
	}
	if h.caps&clientPluginAuth != 0 && len(r.b) > 0 {
		h.plugin = string(r.nul())
		if len(h.plugin) > 64 {
			h.plugin = h.plugin[:64]
		}
	}
	if h.caps&clientConnectAttrs != 0 && len(r.b) > 0 {
		total := r.lenenc()
		if r.err != nil || total > uint64(len(r.b)) {
			return nil, errShort
		}
		ar := &reader{b: r.n(int(total))}
		for len(ar.b) > 0 && ar.err == nil && len(h.attrs) < maxAttrs {
			k := ar.lenencStr()
			v := ar.lenencStr()
			if ar.err != nil {
				break
			}
			h.attrs = append(h.attrs, [2]string{clip(k, maxAttrLen), clip(v, maxAttrLen)})
		}
	}
	if h.caps&clientZstd != 0 && len(r.b) > 0 {
		h.zstdLevel = int(r.n(1)[0])
	}
	return h, capUser(h)
}

func capUser(h *handshakeResponse) error {
	if len(h.user) > maxUser {
		h.user = h.user[:maxUser]
	}
	if len(h.db) > maxUser {
		h.db = h.db[:maxUser]
	}
	return nil
}

func clip(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
