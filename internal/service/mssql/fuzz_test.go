package mssql

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// loginSeed builds a LOGIN7 with a user, an obfuscated password and an
// optional SSPI blob.
func loginSeed(user, password string, sspi []byte) []byte {
	b := make([]byte, 94)
	binary.LittleEndian.PutUint32(b[4:], 0x74000004)
	off := 94
	put := func(at int, v []byte, chars bool) {
		n := len(v)
		if chars {
			n /= 2
		}
		binary.LittleEndian.PutUint16(b[at:], uint16(off))
		binary.LittleEndian.PutUint16(b[at+2:], uint16(n))
		b = append(b, v...)
		off += len(v)
	}
	pw := ucs2(password)
	for i, c := range pw {
		c = c<<4 | c>>4
		pw[i] = c ^ 0xa5
	}
	put(36, ucs2("KALI"), true)
	put(40, ucs2(user), true)
	put(44, pw, true)
	put(48, ucs2("sqlcmd"), true)
	put(60, ucs2("ODBC"), true)
	if sspi != nil {
		b[25] |= 0x80
		put(78, sspi, false)
	}
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

// Framing: any bytes give at most a bounded message, never a panic.
func FuzzPacket(f *testing.F) {
	f.Add(packet(pktPrelogin, []byte{0, 0, 6, 0, 6, 0xff, 8, 0, 1, 0x55, 0, 0}))
	f.Add(append([]byte{0x10, 0, 0, 16, 0, 0, 1, 0}, make([]byte, 8)...))
	f.Add([]byte{0x12, 0, 0, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := readMessage(bytes.NewReader(b))
		if err == nil && len(m.Data) > maxMessage {
			t.Fatalf("message of %d bytes", len(m.Data))
		}
	})
}

// PRELOGIN: a parsed request gets a reply that parses back.
func FuzzPrelogin(f *testing.F) {
	f.Add([]byte("\x00\x00\x15\x00\x06\x01\x00\x1b\x00\x01\x02\x00\x1c\x00\x0c\x03\x00\x28\x00\x04\xff\x08\x00\x01\x55\x00\x00\x00MSSQLServer\x00\x48\x0f\x00\x00"))
	f.Add([]byte("\x00\x00\x1a\x00\x06\x01\x00\x20\x00\x01\x02\x00\x21\x00\x01\x03\x00\x22\x00\x04\x04\x00\x26\x00\x01\xff\x11\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePrelogin(b)
		if err != nil {
			return
		}
		reply := preloginReply(p.Options, [4]int{15, 0, 2000, 5}, answerEncryption(p.Encrypt))
		back, err := parsePrelogin(reply)
		if err != nil || len(back.Version) != 6 {
			t.Fatalf("reply %x does not parse: %v", reply, err)
		}
		_ = preloginFields(p)
	})
}

// LOGIN7: offsets are checked against the message; a password survives
// obfuscation.
func FuzzLogin7(f *testing.F) {
	f.Add(loginSeed("sa", "S3cret!", nil))
	f.Add(loginSeed("", "", []byte("NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2")))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseLogin7(b)
		if err != nil {
			return
		}
		_ = l.Integrated()
	})
}

func TestLoginSeedRoundTrip(t *testing.T) {
	l, err := parseLogin7(loginSeed("sa", "S3cret!", nil))
	if err != nil || l.User != "sa" || fromUCS2(l.Password) != "S3cret!" || l.Library != "ODBC" {
		t.Fatalf("%+v %v", l, err)
	}
}
