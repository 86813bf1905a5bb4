package ntlm

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/md4" //lint:ignore SA1019 NTLM is MD4, and this test is an NTLM client

	"github.com/decnet/decnet/internal/persona"
)

func ntowfv2(password, user, domain string) []byte {
	h := md4.New()
	h.Write(utf16le(password))
	m := hmac.New(md5.New, h.Sum(nil))
	m.Write(utf16le(strings.ToUpper(user) + domain))
	return m.Sum(nil)
}

// authenticate builds a client's AUTHENTICATE with an NTLMv2 response to
// challenge for password, as a Windows client would.
func authenticate(challenge []byte, user, domain, password string) []byte {
	blob := append([]byte{1, 1, 0, 0, 0, 0, 0, 0}, binary.LittleEndian.AppendUint64(nil, FileTime(time.Now()))...)
	blob = append(blob, []byte("clientch")...)
	blob = append(blob, 0, 0, 0, 0, 0, 0, 0, 0)
	m := hmac.New(md5.New, ntowfv2(password, user, domain))
	m.Write(challenge)
	m.Write(blob)
	nt := append(m.Sum(nil), blob...)
	fields := [][]byte{make([]byte, 24), nt, utf16le(domain), utf16le(user), utf16le("KALI")}
	msg := make([]byte, 64)
	copy(msg, Signature)
	msg[8] = 3
	off := 64
	for i, f := range fields {
		putField(msg[12+8*i:], len(f), off)
		off += len(f)
	}
	binary.LittleEndian.PutUint32(msg[60:], FlagUnicode|FlagNTLM|FlagExtendedSession)
	for _, f := range fields {
		msg = append(msg, f...)
	}
	return msg
}

func negotiate(flags uint32) []byte {
	b := append([]byte(nil), Signature...)
	b = binary.LittleEndian.AppendUint32(b, 1)
	b = binary.LittleEndian.AppendUint32(b, flags)
	return append(b, make([]byte, 16)...)
}

// A challenge carries a fresh server challenge and the decky's names; the
// answer becomes a 5600 line that the password recomputes.
func TestChallengeAndCrackLine(t *testing.T) {
	d, _ := persona.LookupDistro("win2019")
	id := persona.NewIdentity("seed", "dc01").Windows(d, "WIN-ABCDEFGHIJK", time.Now())
	s := &Server{ID: id}
	x1, c1, err := s.Challenge(negotiate(FlagUnicode | FlagNTLM | FlagExtendedSession | FlagVersion | Flag128 | Flag56 | FlagKeyExchange | FlagSign))
	if err != nil {
		t.Fatal(err)
	}
	x2, _, _ := s.Challenge(negotiate(FlagUnicode | FlagNTLM))
	if x1.Challenge == x2.Challenge || !bytes.Equal(c1[24:32], x1.Challenge[:]) {
		t.Fatal("the server challenge is not fresh per exchange")
	}
	for _, name := range []string{id.NetBIOSDomain, id.NetBIOSName, id.DNSDomain, id.DNSName} {
		if !bytes.Contains(c1, utf16le(name)) {
			t.Errorf("challenge lacks %q", name)
		}
	}
	if flags := le32(c1[20:]); flags&FlagTargetDomain == 0 || flags&FlagVersion == 0 || c1[48] != 10 || binary.LittleEndian.Uint16(c1[50:]) != 17763 {
		t.Errorf("flags %08x version % x", flags, c1[48:56])
	}
	a, err := x1.Authenticate(authenticate(x1.Challenge[:], "jsmith", id.NetBIOSDomain, "Summer2024!"))
	if err != nil {
		t.Fatal(err)
	}
	line, mode, ok := x1.CrackLine(a)
	if !ok || mode != 5600 || a.Workstation != "KALI" {
		t.Fatalf("%v %d %+v", ok, mode, a)
	}
	// Recompute NTProofStr from the line, as hashcat does.
	f := strings.Split(line, ":")
	chal, _ := hex.DecodeString(f[3])
	proof, _ := hex.DecodeString(f[4])
	blob, _ := hex.DecodeString(f[5])
	m := hmac.New(md5.New, ntowfv2("Summer2024!", f[0], f[2]))
	m.Write(chal)
	m.Write(blob)
	if f[0] != "jsmith" || !bytes.Equal(m.Sum(nil), proof) {
		t.Fatalf("%s does not verify", line)
	}
	cred := x1.Credential(a, "ntlm")
	if cred.CrackMode != 5600 || cred.Principal != id.NetBIOSDomain+`\jsmith` {
		t.Fatalf("credential %+v", cred)
	}
}

// SPNEGO wraps and unwraps NTLM as Windows and its clients do.
func TestSPNEGO(t *testing.T) {
	hint := InitHint(MechsDomain)
	tok, err := ParseToken(hint)
	if err != nil || len(tok.Mechs) != 5 || !tok.OffersNTLM() {
		t.Fatalf("%v %+v", err, tok)
	}
	n := negotiate(FlagUnicode)
	init := tlv(0x60, oidSPNEGO, tlv(0xa0, tlv(0x30, tlv(0xa0, tlv(0x30, MechNTLM)), tlv(0xa2, tlv(0x04, n)))))
	tok, err = ParseToken(init)
	if err != nil || !bytes.Equal(tok.NTLM, n) {
		t.Fatalf("init: %v %+v", err, tok)
	}
	resp := Response(AcceptIncomplete, true, n)
	tok, err = ParseToken(resp)
	if err != nil || !bytes.Equal(tok.NTLM, n) {
		t.Fatalf("resp: %v %+v", err, tok)
	}
	if tok, _ := ParseToken(n); !tok.Raw {
		t.Fatal("a bare NTLMSSP message")
	}
}

func FuzzMessages(f *testing.F) {
	f.Add(negotiate(FlagUnicode | FlagVersion))
	f.Add(authenticate(make([]byte, 8), "u", "D", "p"))
	f.Add(InitHint(MechsDomain))
	f.Add(Response(AcceptIncomplete, true, negotiate(0)))
	d, _ := persona.LookupDistro("win2019")
	s := &Server{ID: persona.NewIdentity("s", "d").Windows(d, "H", time.Now())}
	f.Fuzz(func(t *testing.T, b []byte) {
		if tok, err := ParseToken(b); err == nil {
			tok.OffersNTLM()
		}
		if x, _, err := s.Challenge(b); err == nil {
			x.Authenticate(b)
		}
		x := &Exchange{}
		if a, err := x.Authenticate(b); err == nil {
			x.Credential(a, "ntlm")
		}
	})
}

// The client side answers our own server's challenge with a response the
// password verifies: what a poisoner receives is a real NetNTLMv2.
func TestClientAgainstServer(t *testing.T) {
	d, _ := persona.LookupDistro("win10")
	s := &Server{ID: persona.NewIdentity("seed", "pc").Windows(d, "DESKTOP-ABC1234", time.Now())}
	x, challenge, err := s.Challenge(ClientNegotiate())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := ClientAuthenticate(challenge, "svc_print", "KESTREL", "Honey-2025", "DESKTOP-ABC1234")
	if err != nil {
		t.Fatal(err)
	}
	a, err := x.Authenticate(msg)
	if err != nil || a.User != "svc_print" || a.Workstation != "DESKTOP-ABC1234" || a.Version != "v2" {
		t.Fatalf("%v %+v", err, a)
	}
	line, _, _ := x.CrackLine(a)
	f := strings.Split(line, ":")
	chal, _ := hex.DecodeString(f[3])
	proof, _ := hex.DecodeString(f[4])
	blob, _ := hex.DecodeString(f[5])
	m := hmac.New(md5.New, ntowfv2("Honey-2025", f[0], f[2]))
	m.Write(chal)
	m.Write(blob)
	if !bytes.Equal(m.Sum(nil), proof) {
		t.Fatalf("%s does not verify", line)
	}
}
