package rdp

import (
	"encoding/binary"
	"errors"
	"io"
)

// CredSSP (MS-CSSP 2.2.1) carries the SPNEGO or NTLM tokens of Network
// Level Authentication inside TLS as DER-encoded TSRequests:
//
//	TSRequest ::= SEQUENCE {
//	    version     [0] INTEGER,
//	    negoTokens  [1] SEQUENCE OF SEQUENCE { negoToken [0] OCTET STRING } OPTIONAL,
//	    authInfo    [2] OCTET STRING OPTIONAL,
//	    pubKeyAuth  [3] OCTET STRING OPTIONAL,
//	    errorCode   [4] INTEGER OPTIONAL,
//	    clientNonce [5] OCTET STRING OPTIONAL }

// maxTSRequest bounds one TSRequest: an NTLM AUTHENTICATE with a long
// target information is about a kilobyte, authInfo a few hundred bytes.
const maxTSRequest = 64 << 10

// statusLogonFailure is STATUS_LOGON_FAILURE, the errorCode Windows
// returns for a wrong user name or password.
const statusLogonFailure = 0xC000006D

var errDER = errors.New("malformed TSRequest")

// tsRequest is one CredSSP message.
type tsRequest struct {
	Version     int
	NegoToken   []byte // the first negoToken
	AuthInfo    []byte
	PubKeyAuth  []byte
	ErrorCode   uint32
	HasError    bool
	ClientNonce []byte
}

// readTSRequest reads one DER-encoded TSRequest from r, bounded by
// maxTSRequest.
func readTSRequest(r io.Reader) ([]byte, error) {
	var hdr [6]byte
	if _, err := io.ReadFull(r, hdr[:2]); err != nil {
		return nil, err
	}
	if hdr[0] != 0x30 {
		return hdr[:2], errDER
	}
	n, head := int(hdr[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 {
			return hdr[:2], errDER
		}
		if _, err := io.ReadFull(r, hdr[2:2+k]); err != nil {
			return nil, err
		}
		n = 0
		for _, c := range hdr[2 : 2+k] {
			n = n<<8 | int(c)
		}
		head = 2 + k
	}
	if n > maxTSRequest {
		return hdr[:head], errDER
	}
	buf := make([]byte, head+n)
	copy(buf, hdr[:head])
	if _, err := io.ReadFull(r, buf[head:]); err != nil {
		return nil, err
	}
	return buf, nil
}

// derTLV reads one DER element of b.
func derTLV(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errDER
	}
	tag, n, i := b[0], int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 3 || len(b) < 2+k {
			return 0, nil, nil, errDER
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		i = 2 + k
	}
	if n > len(b)-i {
		return 0, nil, nil, errDER
	}
	return tag, b[i : i+n], b[i+n:], nil
}

// derInt reads an INTEGER of at most four bytes, as Windows writes them
// (errorCode 0xC000006D is four bytes, negative in strict DER).
func derInt(b []byte) (uint32, error) {
	tag, v, _, err := derTLV(b)
	if err != nil || tag != 0x02 || len(v) == 0 || len(v) > 5 || (len(v) == 5 && v[0] != 0) {
		return 0, errDER
	}
	var n uint32
	for _, c := range v {
		n = n<<8 | uint32(c)
	}
	return n, nil
}

func derOctets(b []byte) ([]byte, error) {
	tag, v, _, err := derTLV(b)
	if err != nil || tag != 0x04 {
		return nil, errDER
	}
	return v, nil
}

// parseTSRequest decodes a TSRequest.
func parseTSRequest(b []byte) (*tsRequest, error) {
	tag, seq, _, err := derTLV(b)
	if err != nil || tag != 0x30 {
		return nil, errDER
	}
	t := &tsRequest{Version: -1}
	for len(seq) > 0 {
		tag, field, rest, err := derTLV(seq)
		if err != nil {
			return nil, err
		}
		seq = rest
		switch tag {
		case 0xa0:
			v, err := derInt(field)
			if err != nil {
				return nil, err
			}
			t.Version = int(v)
		case 0xa1:
			// SEQUENCE OF SEQUENCE { [0] OCTET STRING }: the first token
			tag, list, _, err := derTLV(field)
			if err != nil || tag != 0x30 {
				return nil, errDER
			}
			tag, item, _, err := derTLV(list)
			if err != nil || tag != 0x30 {
				return nil, errDER
			}
			tag, tok, _, err := derTLV(item)
			if err != nil || tag != 0xa0 {
				return nil, errDER
			}
			if t.NegoToken, err = derOctets(tok); err != nil {
				return nil, err
			}
		case 0xa2:
			if t.AuthInfo, err = derOctets(field); err != nil {
				return nil, err
			}
		case 0xa3:
			if t.PubKeyAuth, err = derOctets(field); err != nil {
				return nil, err
			}
		case 0xa4:
			if t.ErrorCode, err = derInt(field); err != nil {
				return nil, err
			}
			t.HasError = true
		case 0xa5:
			if t.ClientNonce, err = derOctets(field); err != nil {
				return nil, err
			}
		}
	}
	if t.Version < 0 {
		return nil, errDER
	}
	return t, nil
}

// der writes one DER element with a minimal length.
func der(tag byte, content ...[]byte) []byte {
	n := 0
	for _, c := range content {
		n += len(c)
	}
	out := []byte{tag}
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	for _, c := range content {
		out = append(out, c...)
	}
	return out
}

// marshal encodes the TSRequest as Windows does: version, then the
// present fields in order; errorCode as four bytes.
func (t *tsRequest) marshal() []byte {
	fields := [][]byte{der(0xa0, der(0x02, []byte{byte(t.Version)}))}
	if t.NegoToken != nil {
		fields = append(fields, der(0xa1, der(0x30, der(0x30, der(0xa0, der(0x04, t.NegoToken))))))
	}
	if t.AuthInfo != nil {
		fields = append(fields, der(0xa2, der(0x04, t.AuthInfo)))
	}
	if t.PubKeyAuth != nil {
		fields = append(fields, der(0xa3, der(0x04, t.PubKeyAuth)))
	}
	if t.HasError {
		fields = append(fields, der(0xa4, der(0x02, binary.BigEndian.AppendUint32(nil, t.ErrorCode))))
	}
	if t.ClientNonce != nil {
		fields = append(fields, der(0xa5, der(0x04, t.ClientNonce)))
	}
	return der(0x30, fields...)
}
