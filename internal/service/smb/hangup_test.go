package smb

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/service/servicetest"
)

// smb1Frame is an SMB1 message of command cmd after a NetBIOS header, in
// the layout potsnitch's dionaea probe sends.
func smb1Frame(cmd byte, mid uint16, words, data []byte) []byte {
	h := []byte{0xff, 'S', 'M', 'B', cmd, 0, 0, 0, 0, 0x18, 0x53, 0xc0}
	h = append(h, make([]byte, 12+6)...)
	h = binary.LittleEndian.AppendUint16(h, mid)
	h = append(h, byte(len(words)/2))
	h = append(h, words...)
	h = binary.LittleEndian.AppendUint16(h, uint16(len(data)))
	h = append(h, data...)
	return append([]byte{0, 0, byte(len(h) >> 8), byte(len(h))}, h...)
}

// hangups sends an NT LM 0.12-only NEGOTIATE n times and, as soon as the
// "no dialect" answer is in, an SMB1 SESSION_SETUP; it counts the
// connections whose next read is a reset rather than an end of file.
func hangups(t *testing.T, addr string, n int) (resets int) {
	t.Helper()
	negotiate := smb1Frame(0x72, 0, nil, []byte("\x02NT LM 0.12\x00"))
	setup := smb1Frame(0x73, 1, []byte{0xff, 0, 0, 0, 0x04, 0x11, 0x32, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xd4, 0, 0, 0}, []byte{0})
	for range n {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write(negotiate)
		if _, err := c.Read(make([]byte, 2048)); err != nil {
			t.Fatalf("negotiate: %v", err)
		}
		c.Write(setup)
		_, err = c.Read(make([]byte, 2048))
		switch {
		case errors.Is(err, syscall.ECONNRESET):
			resets++
		case errors.Is(err, io.EOF):
		default:
			t.Fatalf("after the hang-up: %v", err)
		}
		c.Close()
	}
	return resets
}

// TestSMB1HangupLikeSamba: Samba with SMB1 off answers an SMB1-only
// NEGOTIATE "no dialect" and exits; a SESSION_SETUP sent at once arrives
// before the close and is never read, so the client sees a reset about
// half the time, where a decky closing at once gave an end of file every
// time (what potsnitch's smb_limited_session took for Dionaea's limited
// sessions).
func TestSMB1HangupLikeSamba(t *testing.T) {
	real := startSamba(t)
	r := servicetest.Start(t, "smb", PortDirect, debian)
	const n = 60
	want := hangups(t, net.JoinHostPort(real, "445"), n)
	got := hangups(t, r.HostPort(PortDirect), n)
	t.Logf("resets after the hang-up: Samba %d of %d, decky %d of %d", want, n, got, n)
	if got < n/6 || got > n*5/6 {
		t.Errorf("the decky reset %d of %d hang-ups (Samba %d): not smbd's exit", got, n, want)
	}
}
