package ssh

import (
	"bytes"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"sync"
)

// Bounds of the cleartext prefix the wire tap reads: the version exchange
// (RFC 4253 allows 255 bytes a line; servers may precede it with other
// lines, clients should not) and the first binary packet.
const (
	maxPrelude   = 8 << 10
	maxKexPacket = 35000
)

// KexInit is the algorithm offer of an SSH_MSG_KEXINIT.
type KexInit struct {
	Kex, HostKey, EncCS, EncSC, MacCS, MacSC, CompCS, CompSC, LangCS, LangSC []string
	FirstKexFollows                                                          bool
}

var errKexInit = errors.New("malformed kexinit")

// ParseKexInit parses the payload of an SSH_MSG_KEXINIT (message number,
// cookie, ten name-lists, boolean, reserved uint32).
func ParseKexInit(payload []byte) (*KexInit, error) {
	if len(payload) < 17 || payload[0] != 20 {
		return nil, errKexInit
	}
	b := payload[17:]
	var lists [10][]string
	for i := range lists {
		if len(b) < 4 {
			return nil, errKexInit
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return nil, errKexInit
		}
		if n > 0 {
			lists[i] = strings.Split(string(b[:n]), ",")
		}
		b = b[n:]
	}
	k := &KexInit{Kex: lists[0], HostKey: lists[1], EncCS: lists[2], EncSC: lists[3], MacCS: lists[4],
		MacSC: lists[5], CompCS: lists[6], CompSC: lists[7], LangCS: lists[8], LangSC: lists[9]}
	if len(b) >= 1 {
		k.FirstKexFollows = b[0] != 0
	}
	return k, nil
}

// HASSHAlgorithms is the HASSH input string: kex;enc;mac;comp (client to
// server lists for a client).
func (k *KexInit) HASSHAlgorithms() string {
	return strings.Join(k.Kex, ",") + ";" + strings.Join(k.EncCS, ",") + ";" + strings.Join(k.MacCS, ",") + ";" + strings.Join(k.CompCS, ",")
}

// HASSH is the hex MD5 of HASSHAlgorithms.
func (k *KexInit) HASSH() string {
	sum := md5.Sum([]byte(k.HASSHAlgorithms()))
	return hex.EncodeToString(sum[:])
}

// tap wraps the accepted connection and reads, as the SSH library
// consumes them, the client's identification line and its first KEXINIT
// packet. It keeps at most maxPrelude+maxKexPacket bytes and then stops
// looking; it never changes the bytes.
type tap struct {
	net.Conn
	mu        sync.Mutex
	buf       []byte
	done      bool
	version   string
	onVersion func(string)
	onKex     func(*KexInit, error)
}

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.mu.Lock()
		if !t.done {
			t.feed(p[:n])
		}
		t.mu.Unlock()
	}
	return n, err
}

func (t *tap) feed(p []byte) {
	t.buf = append(t.buf, p...)
	if t.version == "" {
		for {
			i := bytes.IndexByte(t.buf, '\n')
			if i < 0 {
				if len(t.buf) > maxPrelude {
					t.done = true
					t.buf = nil
				}
				return
			}
			line := strings.TrimRight(string(t.buf[:i]), "\r")
			t.buf = t.buf[i+1:]
			if strings.HasPrefix(line, "SSH-") {
				t.version = line
				if t.onVersion != nil {
					t.onVersion(line)
				}
				break
			}
		}
	}
	if len(t.buf) < 6 {
		return
	}
	plen := binary.BigEndian.Uint32(t.buf)
	if plen > maxKexPacket || plen < 2 {
		t.finish(nil, errKexInit)
		return
	}
	if uint32(len(t.buf)-4) < plen {
		return
	}
	pad := int(t.buf[4])
	if pad+1 > int(plen) {
		t.finish(nil, errKexInit)
		return
	}
	k, err := ParseKexInit(t.buf[5 : 4+int(plen)-pad])
	t.finish(k, err)
}

func (t *tap) finish(k *KexInit, err error) {
	t.done = true
	t.buf = nil
	if t.onKex != nil {
		t.onKex(k, err)
	}
}
