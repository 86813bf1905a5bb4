package rdp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
)

// TPKT (RFC 1006) and X.224 (ISO 8073 class 0) as RDP uses them to open a
// connection, with the RDP negotiation structures of MS-RDPBCGR 2.2.1.1
// and 2.2.1.2.

// Requested and selected security protocols (MS-RDPBCGR 2.2.1.1.1).
const (
	protoRDP      = 0x00
	protoSSL      = 0x01
	protoHybrid   = 0x02
	protoRDSTLS   = 0x04
	protoHybridEx = 0x08
	protoRDSAAD   = 0x10
)

// Negotiation structure types and failure codes (2.2.1.2.1, 2.2.1.2.2).
const (
	negReq     = 0x01
	negRsp     = 0x02
	negFailure = 0x03

	failSSLRequired    = 0x01
	failHybridRequired = 0x05
)

// X.224 TPDU codes.
const (
	tpduConnectionRequest = 0xe0
	tpduConnectionConfirm = 0xd0
	tpduData              = 0xf0
)

var errTPKT = errors.New("malformed TPKT")

// readPDU reads one PDU as Windows and xrdp frame the first bytes of a
// connection, bounded by its 16-bit (TPKT) or 15-bit (fast-path) length: a TPKT (version 3) by its length, anything else as a
// fast-path header whose length is in the second (and third) byte. The
// second result says whether it was a TPKT.
func readPDU(r io.Reader) ([]byte, bool, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:2]); err != nil {
		return nil, false, err
	}
	if hdr[0] != 3 {
		n := int(hdr[1])
		head := 2
		if n&0x80 != 0 {
			if _, err := io.ReadFull(r, hdr[2:3]); err != nil {
				return nil, false, err
			}
			n = (n&0x7f)<<8 | int(hdr[2])
			head = 3
		}
		if n < head {
			return hdr[:head], false, errTPKT
		}
		buf := make([]byte, n)
		copy(buf, hdr[:head])
		if _, err := io.ReadFull(r, buf[head:]); err != nil {
			return nil, false, err
		}
		return buf, false, nil
	}
	if _, err := io.ReadFull(r, hdr[2:]); err != nil {
		return nil, true, err
	}
	n := int(binary.BigEndian.Uint16(hdr[2:]))
	if n < 7 {
		return hdr[:], true, errTPKT
	}
	buf := make([]byte, n)
	copy(buf, hdr[:])
	if _, err := io.ReadFull(r, buf[4:]); err != nil {
		return nil, true, err
	}
	return buf, true, nil
}

// connRequest is what an X.224 Connection Request said.
type connRequest struct {
	Cookie       string // the mstshash user, or the routing token as sent
	RoutingToken bool   // the cookie was a load-balancer routing token
	HasNeg       bool   // an RDP_NEG_REQ followed
	Flags        uint8  // its flags (restricted admin, redirected auth, correlation info)
	Protocols    uint32 // its requestedProtocols
	Correlation  []byte // the RDP_NEG_CORRELATION_INFO id, when sent
}

// parseConnRequest reads a TPKT holding an X.224 Connection Request.
func parseConnRequest(pdu []byte) (*connRequest, error) {
	if len(pdu) < 11 || pdu[0] != 3 {
		return nil, errTPKT
	}
	li := int(pdu[4])
	if li < 6 || 5+li > len(pdu) || pdu[5]&0xf0 != tpduConnectionRequest {
		return nil, errTPKT
	}
	// the variable part: cookie or routing token ending CR LF, then the
	// negotiation request
	rest := pdu[11 : 5+li]
	cr := &connRequest{}
	if i := bytes.Index(rest, []byte("\r\n")); i >= 0 && (bytes.HasPrefix(rest, []byte("Cookie: ")) || bytes.HasPrefix(rest, []byte("Cookie:"))) {
		line := string(rest[:i])
		rest = rest[i+2:]
		if v, ok := strings.CutPrefix(line, "Cookie: mstshash="); ok {
			cr.Cookie = v
		} else {
			cr.Cookie, cr.RoutingToken = strings.TrimPrefix(strings.TrimPrefix(line, "Cookie:"), " "), true
		}
	}
	if len(rest) >= 8 && rest[0] == negReq {
		cr.HasNeg = true
		cr.Flags = rest[1]
		cr.Protocols = binary.LittleEndian.Uint32(rest[4:8])
		rest = rest[8:]
		// RDP_NEG_CORRELATION_INFO (2.2.1.1.2): type 6, 36 bytes
		if len(rest) >= 36 && rest[0] == 0x06 {
			cr.Correlation = append([]byte(nil), rest[4:20]...)
		}
	}
	return cr, nil
}

// protocolNames lists the protocols of a requestedProtocols mask.
func protocolNames(p uint32) []string {
	names := []string{"rdp"}
	for _, b := range []struct {
		bit  uint32
		name string
	}{{protoSSL, "ssl"}, {protoHybrid, "hybrid"}, {protoRDSTLS, "rdstls"}, {protoHybridEx, "hybrid_ex"}, {protoRDSAAD, "rdsaad"}} {
		if p&b.bit != 0 {
			names = append(names, b.name)
		}
	}
	if p != 0 {
		names = names[1:]
	}
	return names
}

// connConfirm builds the TPKT with the X.224 Connection Confirm: the
// source reference 0x1234 Windows and xrdp both send, and the negotiation
// response or failure when the request carried one (neg 0 sends none).
func connConfirm(neg byte, flags byte, value uint32) []byte {
	b := []byte{3, 0, 0, 11, 6, tpduConnectionConfirm, 0, 0, 0x12, 0x34, 0}
	if neg != 0 {
		b = append(b, neg, flags, 8, 0)
		b = binary.LittleEndian.AppendUint32(b, value)
		b[3], b[4] = 19, 14
	}
	return b
}

// disconnectUltimatum is the MCS Disconnect Provider Ultimatum xrdp sends
// before it closes on a PDU it cannot use.
var disconnectUltimatum = []byte{3, 0, 0, 9, 2, tpduData, 0x80, 0x21, 0x80}
