package serve_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

func TestServeTCPLimitsAndTimeouts(t *testing.T) {
	rec := event.NewRecorder()
	addr := netip.AddrFrom4([4]byte{127, byte(10 + rand.IntN(200)), byte(rand.IntN(256)), 7})
	env := serve.Env{Addrs: []netip.Addr{addr}, Events: event.NewEmitter(rec, "t", "d", "redis", "redis", nil),
		Limits: serve.Limits{PerSource: 2, Total: 10, Idle: 300 * time.Millisecond, Life: time.Minute}}
	port := uint16(30000 + rand.IntN(20000))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve.TCP(ctx, env, port, func(ctx context.Context, c *serve.Conn) {
			if string(readN(c, 4)) == "boom" {
				panic("handler bug")
			}
			io.Copy(io.Discard, c) // until the idle timeout
		})
	}()
	target := net.JoinHostPort(addr.String(), fmt.Sprint(port))
	var conns []net.Conn
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", target)
		if err == nil {
			conns = append(conns, c)
			break
		}
		if i > 200 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	c2, _ := net.Dial("tcp", target)
	conns = append(conns, c2)
	c3, err := net.Dial("tcp", target)
	if err == nil {
		c3.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c3.Read(make([]byte, 1)); err == nil {
			t.Fatal("third connection from one source was served")
		}
		c3.Close()
	}
	if _, ok := rec.Wait(3*time.Second, event.OfType("redis.session.rejected")); !ok {
		t.Fatal("no session.rejected event")
	}
	// Idle connections are closed with reason timeout.
	e, ok := rec.Wait(3*time.Second, func(e event.Event) bool { return e.Type == "redis.session.close" && e.Fields["reason"] == "timeout" })
	if !ok {
		t.Fatalf("no idle close: %+v", rec.Events())
	}
	if e.Session == "" || e.Src.IP != "127.0.0.1" || e.Dst.Port != int(port) {
		t.Fatalf("envelope: %+v", e)
	}
	for _, c := range conns {
		c.Close()
	}
	// A panicking handler costs one connection, not the serve.
	c4, err := net.Dial("tcp", target)
	if err != nil {
		t.Fatal(err)
	}
	c4.Write([]byte("boom"))
	if _, ok := rec.Wait(3*time.Second, event.OfType("redis.protocol.error")); !ok {
		t.Fatal("panic not recorded")
	}
	c4.Close()
	c5, err := net.Dial("tcp", target)
	if err != nil {
		t.Fatalf("service died after a handler panic: %v", err)
	}
	c5.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func readN(r io.Reader, n int) []byte {
	b := make([]byte, n)
	io.ReadFull(r, b)
	return b
}

// TestDefaultPerSourceAbove100: with the default limits one source holds
// 100 connections at once (sshd's MaxStartups ceiling) and every one is
// served; the next over the limit gets the service's Refuse answer.
func TestDefaultPerSourceAbove100(t *testing.T) {
	rec := event.NewRecorder()
	addr := netip.AddrFrom4([4]byte{127, byte(10 + rand.IntN(200)), byte(rand.IntN(256)), 9})
	env := serve.Env{Addrs: []netip.Addr{addr}, Events: event.NewEmitter(rec, "t", "d", "redis", "redis", nil),
		Refuse: func(c net.Conn) { c.Write([]byte("busy\n")) }}
	port := uint16(30000 + rand.IntN(20000))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go serve.TCP(ctx, env, port, func(ctx context.Context, c *serve.Conn) {
		c.Write([]byte("hi\n"))
		io.Copy(io.Discard, c)
	})
	target := net.JoinHostPort(addr.String(), fmt.Sprint(port))
	read := func(c net.Conn) string {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b := make([]byte, 5)
		n, _ := io.ReadAtLeast(c, b, 3)
		return string(b[:n])
	}
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range serve.DefaultLimits.PerSource {
		var c net.Conn
		var err error
		for try := 0; try < 200; try++ {
			if c, err = net.Dial("tcp", target); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if got := read(c); got != "hi\n" {
			t.Fatalf("connection %d: %q", i+1, got)
		}
	}
	over, err := net.Dial("tcp", target)
	if err != nil {
		t.Fatal(err)
	}
	defer over.Close()
	got := read(over)
	t.Logf("%d connections served; the next got %q", len(conns), got)
	if len(conns) < 100 || got != "busy\n" {
		t.Errorf("%d served, over the limit %q", len(conns), got)
	}
}

// TestFullServiceEvictsForANewcomer: when every slot is held, a client
// from a new address is still served, and the connection that made room
// is one of the source holding the most; when every source holds one
// recent connection, the newcomer is refused.
func TestFullServiceEvictsForANewcomer(t *testing.T) {
	rec := event.NewRecorder()
	addr := netip.AddrFrom4([4]byte{127, byte(10 + rand.IntN(200)), byte(rand.IntN(256)), 9})
	env := serve.Env{Addrs: []netip.Addr{addr}, Events: event.NewEmitter(rec, "t", "d", "redis", "redis", nil),
		Limits: serve.Limits{PerSource: 100, Total: 4, Idle: time.Minute, Life: time.Hour}}
	port := uint16(30000 + rand.IntN(20000))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go serve.TCP(ctx, env, port, func(ctx context.Context, c *serve.Conn) {
		io.WriteString(c, "hi\n")
		io.Copy(io.Discard, c)
	})
	target := net.JoinHostPort(addr.String(), fmt.Sprint(port))
	dial := func(src string) (net.Conn, bool) {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
		for i := 0; ; i++ {
			c, err := d.Dial("tcp", target)
			if err != nil {
				if i > 200 {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			b := make([]byte, 3)
			_, err = io.ReadFull(c, b)
			return c, err == nil && string(b) == "hi\n"
		}
	}
	var flood []net.Conn
	for range 4 {
		c, ok := dial("127.0.0.2")
		if !ok {
			t.Fatal("the flood's own connections were not served")
		}
		flood = append(flood, c)
	}
	newcomer, ok := dial("127.0.0.3")
	if !ok {
		t.Fatal("a client from a new address was refused while one source held every slot")
	}
	defer newcomer.Close()
	closed := 0
	for _, c := range flood {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == io.EOF {
			closed++
		}
		c.Close()
	}
	if closed != 1 {
		t.Fatalf("%d of the flood's connections closed, want 1", closed)
	}
	if _, ok := rec.Wait(3*time.Second, func(e event.Event) bool { return e.Type == "redis.session.close" && e.Fields["reason"] == "evicted" }); !ok {
		t.Fatal("no session.close with reason evicted")
	}
	// Four sources with one fresh connection each: nobody to evict.
	time.Sleep(200 * time.Millisecond) // the flood's closes are released
	var held []net.Conn
	for _, src := range []string{"127.0.0.4", "127.0.0.5", "127.0.0.6"} {
		c, ok := dial(src)
		if !ok {
			t.Fatalf("%s was refused with free slots", src)
		}
		held = append(held, c)
	}
	if c, ok := dial("127.0.0.7"); ok {
		t.Fatal("a fifth source was served with four fresh connections holding every slot")
	} else {
		c.Close()
	}
	for _, c := range held {
		c.Close()
	}
}

// TestServiceDeadlineKept: a deadline the service sets (a product's own
// timeout, BIND's 30 s say) holds across its reads and writes; the idle
// limit only ever shortens it.
func TestServiceDeadlineKept(t *testing.T) {
	addr := netip.AddrFrom4([4]byte{127, byte(10 + rand.IntN(200)), byte(rand.IntN(256)), 8})
	env := serve.Env{Addrs: []netip.Addr{addr}, Events: event.NewEmitter(event.NewRecorder(), "t", "d", "dns", "dns", nil),
		Limits: serve.Limits{PerSource: 2, Total: 10, Idle: time.Minute, Life: time.Hour}}
	port := uint16(30000 + rand.IntN(20000))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	took := make(chan time.Duration, 1)
	go serve.TCP(ctx, env, port, func(ctx context.Context, c *serve.Conn) {
		start := time.Now()
		c.SetReadDeadline(start.Add(300 * time.Millisecond))
		c.Write([]byte("hi"))   // a write must not move the read deadline
		c.Read(make([]byte, 1)) // the client's byte
		c.Read(make([]byte, 1)) // then nothing: the service's deadline ends it
		took <- time.Since(start)
	})
	var c net.Conn
	for i := 0; ; i++ {
		var err error
		if c, err = net.Dial("tcp", net.JoinHostPort(addr.String(), fmt.Sprint(port))); err == nil {
			break
		}
		if i > 200 {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer c.Close()
	c.Write([]byte("x"))
	select {
	case d := <-took:
		t.Logf("the service's 300 ms deadline ended the read after %v", d)
	case <-time.After(10 * time.Second):
		t.Fatal("the service's read deadline was replaced by the idle limit")
	}
}
