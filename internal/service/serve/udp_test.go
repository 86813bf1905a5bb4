package serve_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/service/serve"
)

// A source past its rate gets only replies no larger than its requests,
// is reported once, and a handler panic costs one datagram.
func TestServeUDPNeverAmplifies(t *testing.T) {
	rec := event.NewRecorder()
	addr := netip.AddrFrom4([4]byte{127, byte(10 + rand.IntN(200)), byte(rand.IntN(256)), 9})
	env := serve.Env{Addrs: []netip.Addr{addr}, Events: event.NewEmitter(rec, "t", "d", "dns", "dns", nil)}
	port := uint16(30000 + rand.IntN(20000))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	limits := serve.PacketLimits{Rate: 0.01, Burst: 5, Sources: 16, Workers: 8, MaxPacket: 512}
	go func() {
		done <- serve.UDP(ctx, env, port, limits, func(ctx context.Context, p *serve.Packet) {
			if string(p.Data) == "boom" {
				panic("handler bug")
			}
			p.Reply(bytes.Repeat(p.Data, 10)) // a tenfold amplifier, if allowed
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, port)))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 1024)
	replies := 0 // full answers, each spending a token of the burst
	for i := 0; replies == 0; i++ {
		if i > 100 {
			t.Fatal("the UDP service never answered")
		}
		c.Write([]byte("query"))
		c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Read(buf); err == nil {
			replies++
		} else {
			time.Sleep(20 * time.Millisecond) // not listening yet
		}
	}
	c.Write([]byte("boom"))
	if _, ok := rec.Wait(3*time.Second, event.OfType("dns.protocol.error")); !ok {
		t.Fatal("a handler panic was not recorded")
	}
	for range 40 {
		c.Write([]byte("query"))
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			if n != 50 {
				t.Fatalf("reply of %d bytes", n)
			}
			replies++
		}
	}
	// Only the burst is answered tenfold; past it nothing larger than a
	// request goes out (the startup probes may have spent a few more).
	if replies > 5 {
		t.Fatalf("%d full answers past a burst of 5", replies)
	}
	if replies < 2 {
		t.Fatalf("only %d answers: the burst was not served", replies)
	}
	if _, ok := rec.Wait(3*time.Second, event.OfType("dns.rate.limited")); !ok {
		t.Fatal("no rate.limited event")
	}
	n := 0
	for _, e := range rec.Events() {
		if e.Type == "dns.rate.limited" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d rate.limited events, want 1 a minute", n)
	}
}
