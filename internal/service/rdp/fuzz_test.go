package rdp

import (
	"bytes"
	"testing"
)

// The TPKT framing and the Connection Request parser take any bytes
// without panicking or reading past their input.
func FuzzConnRequest(f *testing.F) {
	f.Add([]byte("\x03\x00\x00*%\xe0\x00\x00\x00\x00\x00Cookie: mstshash=nmap\r\n\x01\x00\x08\x00\x03\x00\x00\x00"))
	f.Add([]byte("\x03\x00\x00\x0b\x06\xe0\x00\x00\x00\x00\x00"))
	f.Add([]byte("\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00\x01\x00\x08\x00\x0b\x00\x00\x00"))
	f.Add([]byte("\x16\x03\x01\x00\x05hello"))
	f.Add([]byte("\x80\x82\x00\x03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pdu, isTPKT, err := readPDU(bytes.NewReader(b))
		if err != nil {
			return
		}
		if len(pdu) > len(b) {
			t.Fatalf("PDU of %d bytes from %d", len(pdu), len(b))
		}
		if isTPKT {
			if cr, err := parseConnRequest(pdu); err == nil {
				_ = protocolNames(cr.Protocols)
			}
		}
		_ = clientCore(pdu)
	})
}

// A TSRequest that parses marshals back to one that parses the same.
func FuzzTSRequest(f *testing.F) {
	f.Add((&tsRequest{Version: 6, NegoToken: []byte("NTLMSSP\x00\x01\x00\x00\x00")}).marshal())
	f.Add((&tsRequest{Version: 6, ErrorCode: statusLogonFailure, HasError: true}).marshal())
	f.Add((&tsRequest{Version: 5, NegoToken: bytes.Repeat([]byte{1}, 300), PubKeyAuth: []byte{1, 2}, ClientNonce: make([]byte, 32)}).marshal())
	f.Add([]byte("\x30\x37\xa0\x03\x02\x01\x60\xa1\x30\x30\x2e\x30\x2c\xa0\x2a\x04\x28NTLMSSP\x00\x01\x00\x00\x00\xb7\x82\x08\xe2\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x63\x45\x00\x00\x00\x0f"))
	f.Fuzz(func(t *testing.T, b []byte) {
		raw, err := readTSRequest(bytes.NewReader(b))
		if err != nil {
			return
		}
		req, err := parseTSRequest(raw)
		if err != nil || req.Version > 255 {
			return
		}
		again, err := parseTSRequest(req.marshal())
		if err != nil {
			t.Fatalf("re-encoded TSRequest does not parse: %v", err)
		}
		if !bytes.Equal(again.NegoToken, req.NegoToken) || again.ErrorCode != req.ErrorCode || again.Version != req.Version {
			t.Fatalf("round trip changed the request: %+v != %+v", again, req)
		}
	})
}
