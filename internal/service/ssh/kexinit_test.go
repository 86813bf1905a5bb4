package ssh

import (
	"encoding/binary"
	"strings"
	"testing"
)

// kexPacket builds "version line + binary packet" as a client sends it.
func kexPacket(version string, lists [10]string) []byte {
	payload := []byte{20}
	payload = append(payload, make([]byte, 16)...)
	for _, l := range lists {
		payload = binary.BigEndian.AppendUint32(payload, uint32(len(l)))
		payload = append(payload, l...)
	}
	payload = append(payload, 0, 0, 0, 0, 0)
	pad := 8 - (len(payload)+5)%8
	if pad < 4 {
		pad += 8
	}
	pkt := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)+pad))
	pkt = append(pkt, byte(pad))
	pkt = append(pkt, payload...)
	pkt = append(pkt, make([]byte, pad)...)
	return append([]byte(version+"\r\n"), pkt...)
}

var opensshLists = [10]string{
	"sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ext-info-c",
	"ssh-ed25519,rsa-sha2-512", "chacha20-poly1305@openssh.com,aes128-ctr", "chacha20-poly1305@openssh.com,aes128-ctr",
	"umac-64-etm@openssh.com,hmac-sha2-256", "umac-64-etm@openssh.com,hmac-sha2-256", "none,zlib@openssh.com", "none,zlib@openssh.com", "", "",
}

func TestTapParsesKexInit(t *testing.T) {
	data := kexPacket("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7", opensshLists)
	for _, chunk := range []int{1, 3, 7, 64, len(data)} {
		var ver string
		var got *KexInit
		tp := &tap{onVersion: func(v string) { ver = v }, onKex: func(k *KexInit, err error) {
			if err != nil {
				t.Fatalf("chunk %d: %v", chunk, err)
			}
			got = k
		}}
		for i := 0; i < len(data); i += chunk {
			tp.feed(data[i:min(i+chunk, len(data))])
		}
		if ver != "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u7" || got == nil {
			t.Fatalf("chunk %d: version %q kex %v", chunk, ver, got)
		}
		want := opensshLists[0] + ";" + opensshLists[2] + ";" + opensshLists[4] + ";" + opensshLists[6]
		if got.HASSHAlgorithms() != want || len(got.HASSH()) != 32 {
			t.Errorf("hassh algorithms = %q", got.HASSHAlgorithms())
		}
	}
}

// FuzzKexInit feeds arbitrary bytes to the wire tap and the KEXINIT
// parser: no panic, and the tap never holds more than its bounds.
func FuzzKexInit(f *testing.F) {
	f.Add(kexPacket("SSH-2.0-OpenSSH_9.2p1", opensshLists))
	f.Add(kexPacket("SSH-2.0-Go", [10]string{"curve25519-sha256", "ssh-ed25519", "aes128-ctr", "aes128-ctr", "hmac-sha2-256", "hmac-sha2-256", "none", "none"}))
	f.Add([]byte("SSH-2.0-x\r\n\xff\xff\xff\xff\x04"))
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte(strings.Repeat("A", 9000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseKexInit(data)
		if len(data) > 0 {
			_, _ = ParseKexInit(append([]byte{20}, data...))
		}
		tp := &tap{}
		for i := 0; i < len(data); i += 13 {
			tp.feed(data[i:min(i+13, len(data))])
			if len(tp.buf) > maxPrelude+maxKexPacket+13 {
				t.Fatalf("tap holds %d bytes", len(tp.buf))
			}
		}
	})
}
