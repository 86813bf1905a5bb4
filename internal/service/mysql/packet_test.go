package mysql

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func response41(caps uint32, user, auth, db, plugin string, attrs [][2]string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, caps)
	b = binary.LittleEndian.AppendUint32(b, 16<<20)
	b = append(b, 45)
	b = append(b, make([]byte, 23)...)
	b = append(append(b, user...), 0)
	b = append(b, byte(len(auth)))
	b = append(b, auth...)
	if db != "" {
		b = append(append(b, db...), 0)
	}
	b = append(append(b, plugin...), 0)
	if attrs != nil {
		var a []byte
		for _, kv := range attrs {
			a = append(a, byte(len(kv[0])))
			a = append(a, kv[0]...)
			a = append(a, byte(len(kv[1])))
			a = append(a, kv[1]...)
		}
		b = append(b, byte(len(a)))
		b = append(b, a...)
	}
	return b
}

func TestParseHandshakeResponse(t *testing.T) {
	base := uint32(clientProtocol41 | clientSecureConnection | clientPluginAuth | clientPluginAuthLenenc)
	cases := []struct {
		name    string
		in      []byte
		user    string
		auth    int
		db      string
		plugin  string
		ssl     bool
		attrs   int
		wantErr bool
	}{
		{"native", response41(base, "root", string(bytes.Repeat([]byte{7}, 20)), "", "mysql_native_password", nil), "root", 20, "", "mysql_native_password", false, 0, false},
		{"with db and attrs", response41(base|clientConnectWithDB|clientConnectAttrs, "admin", "", "shop", "caching_sha2_password",
			[][2]string{{"_client_name", "libmariadb"}, {"program_name", "mysql"}}), "admin", 0, "shop", "caching_sha2_password", false, 2, false},
		{"ssl request", append(binary.LittleEndian.AppendUint32(nil, base|clientSSL), make([]byte, 28)...), "", 0, "", "", true, 0, false},
		{"short", []byte{1, 2}, "", 0, "", "", false, 0, true},
		{"truncated auth", append(response41(base, "u", "", "", "", nil)[:34], 0xfc, 1), "", 0, "", "", false, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, err := parseHandshakeResponse(tc.in)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("no error: %+v", h)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(h.user) != tc.user || len(h.auth) != tc.auth || string(h.db) != tc.db || h.plugin != tc.plugin || h.sslRequest != tc.ssl || len(h.attrs) != tc.attrs {
				t.Errorf("got %+v", h)
			}
		})
	}
}

func FuzzParseHandshakeResponse(f *testing.F) {
	base := uint32(clientProtocol41 | clientSecureConnection | clientPluginAuth | clientPluginAuthLenenc | clientConnectWithDB | clientConnectAttrs)
	f.Add(response41(base, "root", "01234567890123456789", "db", "mysql_native_password", [][2]string{{"_os", "Linux"}}))
	f.Add([]byte{0x85, 0xa6, 0x03, 0x00, 0, 0, 0, 1, 33})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxHandshake {
			return
		}
		h, err := parseHandshakeResponse(data)
		if err != nil {
			return
		}
		if len(h.user) > maxUser || len(h.db) > maxUser || len(h.attrs) > maxAttrs || len(h.auth) > len(data) {
			t.Fatalf("unbounded result %+v", h)
		}
		for _, kv := range h.attrs {
			if len(kv[0]) > maxAttrLen || len(kv[1]) > maxAttrLen {
				t.Fatal("attribute over its cap")
			}
		}
	})
}

func FuzzReadPacket(f *testing.F) {
	f.Add([]byte{3, 0, 0, 1, 'a', 'b', 'c'})
	f.Add([]byte{0xff, 0xff, 0xff, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, _, err := readPacket(bytes.NewReader(data), maxHandshake)
		if err == nil && len(p) > maxHandshake {
			t.Fatal("packet over cap")
		}
	})
}
