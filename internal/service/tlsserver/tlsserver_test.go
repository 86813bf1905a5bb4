package tlsserver

import "testing"

func FuzzParseClientHello(f *testing.F) {
	f.Add([]byte{0x16, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if ch, err := ParseClientHello(data); err == nil {
			ch.JA3()
			ch.JA4()
		}
	})
}
