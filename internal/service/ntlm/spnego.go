package ntlm

import (
	"bytes"
	"errors"
)

// Mechanism OIDs, DER-encoded with their tag, as SPNEGO lists them.
var (
	MechNTLM    = []byte{0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a}
	MechNegoEx  = []byte{0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x1e}
	MechMSKRB5  = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02}
	MechKRB5    = []byte{0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02}
	MechKRB5U2U = []byte{0x06, 0x0a, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02, 0x03}
	oidSPNEGO   = []byte{0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02}
)

// MechsDomain are what a domain member offers; MechsStandalone what a
// machine without Kerberos offers.
var (
	MechsDomain     = [][]byte{MechNegoEx, MechMSKRB5, MechKRB5, MechKRB5U2U, MechNTLM}
	MechsStandalone = [][]byte{MechNegoEx, MechNTLM}
)

// SPNEGO negotiation states.
const (
	AcceptCompleted  = 0
	AcceptIncomplete = 1
	Reject           = 2
)

const hintName = "not_defined_in_RFC4178@please_ignore"

// tlv writes one DER element.
func tlv(tag byte, content ...[]byte) []byte {
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

// InitHint is the NegTokenInit2 a server sends before the client speaks
// (SMB2 NEGOTIATE's security buffer): its mechanisms and the hint name
// Windows has sent since 2008.
func InitHint(mechs [][]byte) []byte {
	return tlv(0x60, oidSPNEGO,
		tlv(0xa0, tlv(0x30,
			tlv(0xa0, tlv(0x30, mechs...)),
			tlv(0xa3, tlv(0x30, tlv(0xa0, tlv(0x1b, []byte(hintName))))))))
}

// Response is a NegTokenResp: the state, the NTLM mechanism when token is
// the first answer, and the token.
func Response(state int, withMech bool, token []byte) []byte {
	fields := [][]byte{tlv(0xa0, tlv(0x0a, []byte{byte(state)}))}
	if withMech {
		fields = append(fields, tlv(0xa1, MechNTLM))
	}
	if token != nil {
		fields = append(fields, tlv(0xa2, tlv(0x04, token)))
	}
	return tlv(0xa1, tlv(0x30, fields...))
}

var errDER = errors.New("malformed SPNEGO token")

// readTLV reads one DER element, bounded by b.
func readTLV(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, errDER
	}
	tag, n, i := b[0], int(b[1]), 2
	if n >= 0x80 {
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

// Token is what a client's security blob carried.
type Token struct {
	NTLM  []byte   // the NTLMSSP message, nil when none
	Mechs [][]byte // the mechanisms a NegTokenInit offered, DER
	// Raw says the blob was a bare NTLMSSP message, without SPNEGO.
	Raw bool
}

// OffersNTLM says whether a NegTokenInit listed NTLMSSP.
func (t *Token) OffersNTLM() bool {
	for _, m := range t.Mechs {
		if bytes.Equal(m, MechNTLM) {
			return true
		}
	}
	return len(t.Mechs) == 0
}

// ParseToken reads a client's security blob: a GSS-API NegTokenInit, a
// NegTokenResp, or a bare NTLMSSP message.
func ParseToken(b []byte) (*Token, error) {
	if bytes.HasPrefix(b, Signature) {
		return &Token{NTLM: b, Raw: true}, nil
	}
	tag, content, _, err := readTLV(b)
	if err != nil {
		return nil, err
	}
	t := &Token{}
	switch tag {
	case 0x60: // InitialContextToken: the SPNEGO OID, then NegTokenInit
		if !bytes.HasPrefix(content, oidSPNEGO) {
			return nil, errDER
		}
		tag, inner, _, err := readTLV(content[len(oidSPNEGO):])
		if err != nil || tag != 0xa0 {
			return nil, errDER
		}
		return t, t.fields(inner, 0xa2)
	case 0xa1: // NegTokenResp
		return t, t.fields(content, 0xa2)
	}
	return nil, errDER
}

// fields reads the SEQUENCE of a NegTokenInit or NegTokenResp: the
// mechanism list ([0] in an init) and the token ([2] in both).
func (t *Token) fields(b []byte, tokenTag byte) error {
	tag, seq, _, err := readTLV(b)
	if err != nil || tag != 0x30 {
		return errDER
	}
	for len(seq) > 0 {
		tag, field, rest, err := readTLV(seq)
		if err != nil {
			return err
		}
		seq = rest
		switch tag {
		case 0xa0:
			ftag, list, _, err := readTLV(field)
			if err != nil {
				return err
			}
			if ftag != 0x30 {
				continue // a NegTokenResp's negState
			}
			for len(list) > 0 && len(t.Mechs) < 32 {
				_, oid, r, err := readTLV(list)
				if err != nil {
					return err
				}
				t.Mechs = append(t.Mechs, append([]byte{0x06, byte(len(oid))}, oid...))
				list = r
			}
		case tokenTag:
			otag, tok, _, err := readTLV(field)
			if err != nil || otag != 0x04 {
				return errDER
			}
			t.NTLM = tok
		}
	}
	return nil
}
