package mssql

import (
	"encoding/binary"
	"io"
	"net"
)

// preloginTLS carries a TLS handshake inside TDS PRELOGIN packets, as
// TDS 7.x does: every handshake flight is the payload of PRELOGIN
// packets; once the handshake is done TLS records go on the wire bare.
type preloginTLS struct {
	net.Conn
	raw     io.Reader // the connection's reader (buffered)
	pending []byte    // the rest of the current packet's payload
	bare    bool      // the handshake is over
}

func (p *preloginTLS) Read(b []byte) (int, error) {
	if p.bare {
		return p.raw.Read(b)
	}
	for len(p.pending) == 0 {
		var hdr [8]byte
		if _, err := io.ReadFull(p.raw, hdr[:]); err != nil {
			return 0, err
		}
		n := int(binary.BigEndian.Uint16(hdr[2:]))
		if hdr[0] != pktPrelogin || n < 8 || n > maxPacket {
			return 0, errTDS
		}
		p.pending = make([]byte, n-8)
		if _, err := io.ReadFull(p.raw, p.pending); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.pending)
	p.pending = p.pending[n:]
	return n, nil
}

func (p *preloginTLS) Write(b []byte) (int, error) {
	if p.bare {
		return p.Conn.Write(b)
	}
	if _, err := p.Conn.Write(packet(pktPrelogin, b)); err != nil {
		return 0, err
	}
	return len(b), nil
}
