package snmp

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func hexBytes(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Seeds: a v2c get, a v1 getnext, a v2c getbulk, a v2c set, net-snmp's v3
// discovery and an authenticated v3 get (captured from snmpget).
var seeds = [][]byte{
	hexBytes("302902010104067075626c6963a01c0204486d1a2a020100020100300e300c06082b060102010101000500"),
	hexBytes("302602010004067075626c6963a11902041a2b3c4d020100020100300b300906052b060102010500"),
	hexBytes("302602010104067075626c6963a51902040102030402010002010a300b300906052b060102010500"),
	hexBytes("302f02010104067075626c6963a32202040102030502010002010030143012060a2b060102010106000000040470776e64"),
	hexBytes("303d020103301002034cfc1a020300ffe30401040201030410300e0400020100020100040004000400301404000400a00e0204485ffe900201000201003000"),
	hexBytes("307c020103301002034cfc19020300ffe3040105020103043030" + "2e041180001f8880c508ef0bee40166b00000000020101020113040362" + "6f62040ce7a65ab222950bd330331a27040030330411" + "80001f8880c508ef0bee40166b000000000400a01c0204485ffe8f020100020100300e300c06082b060102010101000500"),
}

func FuzzCodec(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if m, err := parseCommunity(b); err == nil {
			again, err := parseCommunity(m.encode())
			if err != nil {
				t.Fatalf("re-parse of our encoding: %v", err)
			}
			if !bytes.Equal(again.encode(), m.encode()) {
				t.Fatalf("round trip differs")
			}
		}
		if u, err := parseV3(b); err == nil {
			out := report(u, []byte{0x80, 0, 0x1f, 0x88, 0x80, 1, 2, 3, 4}, 1, 2, oidUnknownEngineIDs, 1, 0)
			if _, err := parseV3(out); err != nil {
				t.Fatalf("our report does not parse: %v", err)
			}
		}
		if v, err := parseOID(b); err == nil {
			if !bytes.Equal(encOID(v)[2:], b) && len(v) >= 2 && len(b) < 128 {
				// A minimal encoding re-encodes to itself.
				if w, err := parseOID(encOID(v)[2:]); err != nil || cmpOID(v, w) != 0 {
					t.Fatalf("OID %v does not round-trip", v)
				}
			}
		}
	})
}

func TestSeedsParse(t *testing.T) {
	for i, s := range seeds[:4] {
		if _, err := parseCommunity(s); err != nil {
			t.Errorf("seed %d: %v", i, err)
		}
	}
	for i, s := range seeds[4:] {
		u, err := parseV3(s)
		if err != nil {
			t.Errorf("v3 seed %d: %v", i, err)
		}
		if i == 1 && (string(u.UserName) != "bob" || len(u.AuthParams) != 12 || u.PDU == nil) {
			t.Errorf("v3 seed: %+v", u)
		}
	}
}

// TestFitRateLimited: past its rate a source gets replies no larger than
// its request; a GetBulk loses bindings, a Get becomes tooBig.
func TestFitRateLimited(t *testing.T) {
	req, _ := parseCommunity(seeds[2])
	var vbs []VarBind
	for i := range 50 {
		vbs = append(vbs, VarBind{OID: mustOID("1.3.6.1.2.1.2.2.1.2." + string(rune('1'+i%9))), Value: Value{Tag: tagOctetString, Bytes: []byte("eth0")}})
	}
	m := Message{Version: 1, Community: req.Community, PDU: PDU{Type: pduResponse, RequestID: req.PDU.RequestID, VarBinds: vbs}}
	out := fit(m, req.PDU, 100)
	if len(out) > 100 {
		t.Fatalf("bulk reply %d bytes over a limit of 100", len(out))
	}
	got, err := parseCommunity(out)
	if err != nil || got.PDU.ErrStatus != errNoError || len(got.PDU.VarBinds) == 0 {
		t.Errorf("trimmed bulk: %+v %v", got.PDU, err)
	}
	get, _ := parseCommunity(seeds[0])
	m.PDU.VarBinds = vbs[:10]
	out = fit(m, get.PDU, len(seeds[0]))
	got, err = parseCommunity(out)
	if err != nil || got.PDU.ErrStatus != errTooBig || len(got.PDU.VarBinds) != 0 || len(out) > len(seeds[0]) {
		t.Errorf("tooBig: %+v %v (%d bytes)", got.PDU, err, len(out))
	}
}
