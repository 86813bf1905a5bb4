package transport

import (
	"bytes"
	"testing"
)

// FuzzReadClientVersion: any input gives a line or a refusal, never a
// panic, and an accepted line starts with "SSH-".
func FuzzReadClientVersion(f *testing.F) {
	for _, s := range []string{"SSH-2.0-OpenSSH_9.6\r\n", "GET / HTTP/1.0\r\n\r\n", "SSH-1111-x\r\n", "SSH-1.5-x\n",
		"SSH-1.99-x\n", "SSH- +2.0-x\n", "SSH-2.0-\r\n", "\x00\n", "SSH-99999999999999999999.0-x\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		line, reply, err := readClientVersion(bytes.NewReader(in))
		if err == nil && reply == "" && !bytes.HasPrefix(line, []byte("SSH-")) {
			t.Fatalf("accepted %q", line)
		}
		if reply != "" && reply != identInvalid && reply != identMajorDiffs {
			t.Fatalf("reply %q", reply)
		}
	})
}
