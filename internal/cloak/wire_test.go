package cloak

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/testenv"
	"golang.org/x/sys/unix"
)

// serveBytes makes the decky send n bytes to whoever connects to port.
func (l *lab) serveBytes(t testing.TB, port, n int) {
	t.Helper()
	buf := make([]byte, 1<<20)
	l.listen(t, port, func(c net.Conn) {
		for left := n; left > 0; {
			k, err := c.Write(buf[:min(left, len(buf))])
			if err != nil {
				return
			}
			left -= k
		}
	})
}

// fetch connects from the scanner and reads until the decky closes,
// returning the bytes read and the time it took.
func (l *lab) fetch(t testing.TB, port int) (int64, time.Duration) {
	t.Helper()
	var conn net.Conn
	l.inScannerNS(t, func() {
		var err error
		if conn, err = net.DialTimeout("tcp4", fmt.Sprintf("%s:%d", l.deckyIP, port), 5*time.Second); err != nil {
			t.Error(err)
		}
	})
	if conn == nil {
		t.FailNow()
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	start := time.Now()
	n, err := io.Copy(io.Discard, conn)
	if err != nil {
		t.Fatal(err)
	}
	return n, time.Since(start)
}

// TestIPIDOnEveryPacket captures, in the scanner's namespace, every IPv4
// packet a Windows decky sends during a connection with a 2 MiB transfer:
// the SYN-ACK, the data, the ACKs and the FIN must carry one counter's
// consecutive IDs (a Windows host's global counter, with nothing else
// sent meanwhile), and the SYN-ACK's window scale must be the kernel's.
//
// It runs with the nftables queue expression and again with the rules
// queueing through the xtables NFQUEUE target (ruleset.compat, for
// kernels without nft_queue).
func TestIPIDOnEveryPacket(t *testing.T) {
	for _, compat := range []bool{false, true} {
		t.Run(map[bool]string{false: "nft", true: "xtables"}[compat], func(t *testing.T) { testIPIDOnEveryPacket(t, compat) })
	}
}

func testIPIDOnEveryPacket(t *testing.T, compat bool) {
	l := newLab(t, persona.Windows)
	p, _ := Lookup(persona.Windows)
	c, err := Start(Config{Profile: p, NetNS: l.netns(), Logger: testenv.Logger(t, slog.LevelInfo)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if compat {
		// The cloak's netlink connection lives in the decky's namespace.
		if err := (ruleset{p: &c.cfg.Profile, queue: c.cfg.Queue, compat: true}).install(c.nft); err != nil {
			t.Fatalf("xtables queue target: %v", err)
		}
	}
	l.serveBytes(t, 8080, 2<<20)
	var fd int
	l.inScannerNS(t, func() {
		var err error
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM, int(htons(unix.ETH_P_IP))); err != nil {
			t.Error(err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Usec: 300000}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	if n, _ := l.fetch(t, 8080); n != 2<<20 {
		t.Fatalf("read %d bytes", n)
	}
	time.Sleep(200 * time.Millisecond) // the last ACK and FIN
	var ids []uint16
	var synAckWS = -1
	const mss = 1460 // no timestamps on a Windows decky
	buf := make([]byte, 65536)
	for {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			break
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue
		}
		ip, ok := parseIP4(buf[:n])
		if !ok || net.IP(ip.src()).String() != l.deckyIP || ip.proto != protoTCP {
			continue
		}
		// A segmentation-offloaded packet crosses the veth whole: count
		// its segments as the wire of a real NIC would carry them.
		segs := 1
		if n > 1500 {
			tc, _ := parseTCP(ip.payload())
			segs = (len(tc.data()) + mss - 1) / mss
		}
		for i := range segs {
			ids = append(ids, binary.BigEndian.Uint16(ip.b[4:6])+uint16(i))
		}
		if tc, ok := parseTCP(ip.payload()); ok && tc.flags()&(flSYN|flACK) == flSYN|flACK {
			o := parseOptions(tc.options())
			if containsByte(o.have, 'W') {
				synAckWS = int(o.ws)
			}
		}
	}
	if len(ids) < 1000 {
		t.Fatalf("captured %d packets from the decky", len(ids))
	}
	for i := 1; i < len(ids); i++ {
		if ids[i] != ids[i-1]+1 {
			t.Fatalf("packet %d of %d has IP ID %d after %d: %v", i, len(ids), ids[i], ids[i-1], ids[:min(len(ids), 40)])
		}
	}
	if synAckWS != 8 {
		t.Errorf("SYN-ACK window scale %d, want Windows' 8", synAckWS)
	}
	t.Logf("%d packets from the decky, IP IDs %d..%d consecutive, SYN-ACK window scale %d; cloak %+v", len(ids), ids[0], ids[len(ids)-1], synAckWS, c.Stats())
	if st := c.Stats(); st.Errors != 0 || st.Marked == 0 {
		t.Errorf("cloak errors, or no packet took its ID by mark: %+v", st)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// sink makes the decky read and discard whatever is sent to port.
func (l *lab) sink(t testing.TB, port int) {
	t.Helper()
	l.listen(t, port, func(c net.Conn) { io.Copy(io.Discard, c) })
}

// push sends n bytes from the scanner to the decky and returns the time
// until the decky has acknowledged them all (the close).
func (l *lab) push(t testing.TB, port, n int) time.Duration {
	t.Helper()
	var conn *net.TCPConn
	l.inScannerNS(t, func() {
		c, err := net.DialTimeout("tcp4", fmt.Sprintf("%s:%d", l.deckyIP, port), 5*time.Second)
		if err != nil {
			t.Error(err)
			return
		}
		conn = c.(*net.TCPConn)
	})
	if conn == nil {
		t.FailNow()
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute))
	buf := make([]byte, 1<<20)
	start := time.Now()
	for left := n; left > 0; {
		k, err := conn.Write(buf[:min(left, len(buf))])
		if err != nil {
			t.Fatal(err)
		}
		left -= k
	}
	conn.CloseWrite()
	io.Copy(io.Discard, conn) // the decky's FIN comes once it has read everything
	return time.Since(start)
}

// BenchmarkThroughput moves 100 MiB between a decky namespace and a client
// namespace over a veth pair, both ways, without the cloak and through a
// Windows cloak (every outbound packet through the rewriter for its IP
// ID), and reports the rates and their ratios: on the bare veth pair (as
// fast as the two CPUs go) and on one shaped to 10 Gbit/s and to 1 Gbit/s
// both ways, as a decky's LAN is. Plain and cloaked transfers alternate in the same pair of
// namespaces (the cloak starts and stops between them), five rounds, so
// both see the same moment of a shared machine; the ratios reported are of
// the medians, and the log gives the best of each too.
func BenchmarkThroughput(b *testing.B) {
	const size, rounds = 100 << 20, 5
	type rates struct{ down, up []float64 }
	measure := func(b *testing.B, shape string) (plain, cloaked rates) {
		l := newLab(b, persona.Windows)
		if shape != "" {
			l.shape(b, shape)
		}
		l.serveBytes(b, 8080, size)
		l.sink(b, 8081)
		l.fetch(b, 8080) // warm up
		one := func(r *rates) {
			n, d := l.fetch(b, 8080)
			if n != size {
				b.Fatalf("read %d bytes", n)
			}
			r.down = append(r.down, float64(n)/d.Seconds()/(1<<20))
			r.up = append(r.up, float64(size)/l.push(b, 8081, size).Seconds()/(1<<20))
		}
		p, _ := Lookup(persona.Windows)
		for range rounds {
			one(&plain)
			c, err := Start(Config{Profile: p, NetNS: l.netns(), Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			one(&cloaked)
			if err := c.Close(); err != nil {
				b.Fatal(err)
			}
		}
		return plain, cloaked
	}
	median := func(x []float64) float64 { x = slices.Clone(x); slices.Sort(x); return x[len(x)/2] }
	for b.Loop() {
		for _, shape := range []string{"", "10gbit", "1gbit"} {
			plain, cloaked := measure(b, shape)
			link := "veth"
			if shape != "" {
				link = "veth at " + shape
			}
			for _, dir := range []struct {
				name, metric string
				p, c         []float64
			}{{"decky->client", "down", plain.down, cloaked.down}, {"client->decky", "up", plain.up, cloaked.up}} {
				mp, mc := median(dir.p), median(dir.c)
				bp, bc := slices.Max(dir.p), slices.Max(dir.c)
				b.ReportMetric(mc/mp, strings.ReplaceAll(link, " ", "-")+"-"+dir.metric+"-ratio")
				b.Logf("%s, 100 MiB %s: median plain %.0f MiB/s, cloaked %.0f MiB/s, ratio %.2f; best %.0f / %.0f MiB/s, ratio %.2f",
					link, dir.name, mp, mc, mc/mp, bp, bc, bc/bp)
			}
		}
	}
}

// TestDeadCloakFailsOpen: when the cloak's process dies with its rules in
// place, the decky keeps answering (as plain Linux): the queue rules bypass
// a queue nobody listens on.
func TestDeadCloakFailsOpen(t *testing.T) {
	l := newLab(t, persona.Windows)
	l.serveBytes(t, 8080, 64<<10)
	p, _ := Lookup(persona.Windows)
	c, err := Start(Config{Profile: p, NetNS: l.netns(), Logger: testenv.Logger(t, slog.LevelInfo)})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := l.fetch(t, 8080); n != 64<<10 {
		t.Fatalf("through the cloak: %d bytes", n)
	}
	// Die as a killed process would: the queue socket goes, the rules stay.
	c.stop.Store(true)
	<-c.done
	c.closeFDs()
	t.Cleanup(func() { inNS(t, l.decky, func() { c.Close() }) })
	if n, _ := l.fetch(t, 8080); n != 64<<10 {
		t.Fatalf("after the cloak died: %d bytes", n)
	}
}
