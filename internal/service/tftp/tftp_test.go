package tftp_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/servicetest"
	_ "github.com/decnet/decnet/internal/service/tftp"
)

// client is a bare TFTP client socket.
type client struct {
	t    *testing.T
	c    *net.UDPConn
	peer *net.UDPAddr
}

func dial(t *testing.T, r *servicetest.Running) *client {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	to, _ := net.ResolveUDPAddr("udp", r.HostPort(69))
	return &client{t: t, c: c, peer: to}
}

func (c *client) send(b []byte) { c.c.WriteToUDP(b, c.peer) }

func (c *client) recv(wait time.Duration) []byte {
	c.c.SetReadDeadline(time.Now().Add(wait))
	buf := make([]byte, 70000)
	n, from, err := c.c.ReadFromUDP(buf)
	if err != nil {
		return nil
	}
	c.peer = from
	return buf[:n]
}

func TestWriteRefused(t *testing.T) {
	r := servicetest.Start(t, "tftp", 69, servicetest.Options{Config: map[string]any{"write": "refuse"}})
	c := dial(t, r)
	c.send([]byte("\x00\x02bins.sh\x00octet\x00"))
	if got := c.recv(2 * time.Second); string(got) != "\x00\x05\x00\x01File not found\x00" {
		t.Errorf("WRQ without create answered %q", got)
	}
	if _, ok := r.Events.Wait(3*time.Second, func(e event.Event) bool {
		return e.Type == "tftp.file.upload" && e.Fields["error_code"] == 1 && e.Fields["path"] == "bins.sh"
	}); !ok {
		t.Errorf("no refused upload event: %v", r.Events.Events())
	}
}

func TestUploadBounded(t *testing.T) {
	r := servicetest.Start(t, "tftp", 69, servicetest.Options{Config: map[string]any{"max_upload": 1000}})
	c := dial(t, r)
	c.send([]byte("\x00\x02big.bin\x00octet\x00"))
	if got := c.recv(2 * time.Second); string(got) != "\x00\x04\x00\x00" {
		t.Fatalf("WRQ answered %q", got)
	}
	block := bytes.Repeat([]byte{0xAA}, 512)
	var last []byte
	for i := 1; i <= 3; i++ {
		c.send(append([]byte{0, 3, 0, byte(i)}, block...))
		if last = c.recv(2 * time.Second); len(last) < 2 || last[1] != 4 {
			break
		}
	}
	if string(last) != "\x00\x05\x00\x03Disk full or allocation exceeded\x00" {
		t.Errorf("past max_upload the server said %q", last)
	}
	e, ok := r.Events.Wait(3*time.Second, event.OfType("tftp.file.upload"))
	if !ok || e.Fields["size"] != 1000 || e.Fields["truncated"] != true || e.Fields["sha256"] == nil {
		t.Errorf("upload event %v", e.Fields)
	}
}

func TestRetransmitAndWrap(t *testing.T) {
	r := servicetest.Start(t, "tftp", 69, servicetest.Options{})
	c := dial(t, r)
	c.send([]byte("\x00\x01startup-config\x00octet\x00"))
	first := c.recv(2 * time.Second)
	again := c.recv(3 * time.Second) // no ACK: tftpd-hpa resends after 1 s
	if first == nil || !bytes.Equal(first, again) {
		t.Fatalf("no retransmission: %q then %q", first, again)
	}
	c.send([]byte("\x00\x05\x00\x00\x00")) // abort

	// Block numbers wrap to 0 after 65535 (rollover 0, as tftpd-hpa).
	c = dial(t, r)
	c.send([]byte("\x00\x01c2960x-universalk9-mz.152-7.E8.bin\x00octet\x00blksize\x008\x00"))
	if oack := c.recv(2 * time.Second); string(oack) != "\x00\x06blksize\x008\x00" {
		t.Fatalf("OACK %q", oack)
	}
	c.send([]byte{0, 4, 0, 0})
	for want := 1; want <= 65537; want++ {
		p := c.recv(2 * time.Second)
		if len(p) != 12 || p[1] != 3 {
			t.Fatalf("block %d: %q", want, p)
		}
		if got := binary.BigEndian.Uint16(p[2:]); got != uint16(want) {
			t.Fatalf("block %d numbered %d", want, got)
		}
		c.send([]byte{0, 4, p[2], p[3]})
	}
	c.send([]byte("\x00\x05\x00\x00\x00"))
}

func TestPerSourceLimit(t *testing.T) {
	r := servicetest.Start(t, "tftp", 69, servicetest.Options{Config: map[string]any{"per_source": 2}})
	var cs []*client
	for range 3 {
		c := dial(t, r)
		c.send([]byte("\x00\x01startup-config\x00octet\x00"))
		cs = append(cs, c)
	}
	answered := 0
	for _, c := range cs {
		if c.recv(500*time.Millisecond) != nil {
			answered++
		}
	}
	if answered != 2 {
		t.Errorf("%d of 3 concurrent transfers from one source started, want 2", answered)
	}
}

func FuzzUDP(f *testing.F) {
	r := servicetest.Start(f, "tftp", 69, servicetest.Options{})
	servicetest.FuzzPacket(f, r, 69,
		[]byte("\x00\x01nope\x00octet\x00"),
		[]byte("\x00\x01pxelinux.cfg\x00netascii\x00tsize\x000\x00"),
		[]byte("\x00\x02x\x00octet\x00blksize\x0099999\x00"),
		[]byte("\x00\x01abc"))
}
