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

// TestTarpit: a tarpitted connection is trickled and recorded once; one
// from another source is not; lifting the tarpit frees the connection
// already caught at once (at 1 byte a second its answer would otherwise
// take twenty minutes).
func TestTarpit(t *testing.T) {
	rec := event.NewRecorder()
	addr := netip.AddrFrom4([4]byte{127, byte(10 + rand.IntN(200)), byte(rand.IntN(256)), 9})
	live := serve.NewLive()
	env := serve.Env{Addrs: []netip.Addr{addr}, Events: event.NewEmitter(rec, "t", "d", "redis", "redis", nil), Live: live}
	port := uint16(30000 + rand.IntN(20000))
	live.Set([]serve.TarpitRule{{Port: port, From: netip.PrefixFrom(netip.AddrFrom4([4]byte{127, 0, 0, 0}), 8), Rate: 1, Source: "127.0.0.0/8"}}, nil)
	answer := make([]byte, 1200)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve.TCP(ctx, env, port, func(ctx context.Context, c *serve.Conn) { c.Write(answer) })
	}()
	t.Cleanup(func() { cancel(); <-done })
	var c net.Conn
	var err error
	for range 200 {
		if c, err = net.Dial("tcp", net.JoinHostPort(addr.String(), fmt.Sprint(port))); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	e, ok := rec.Wait(3*time.Second, event.OfType("redis.session.tarpitted"))
	if !ok || e.Fields["rate"] != 1 || e.Fields["source"] != "127.0.0.0/8" {
		t.Fatalf("no tarpitted event with rate and source: %+v", e)
	}
	// Still caught: a second read in 300 ms gets at most one more byte.
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, _ := io.ReadFull(c, make([]byte, 10))
	if n > 2 {
		t.Fatalf("tarpitted at 1 byte/s, got %d bytes at once", n)
	}
	live.Set(nil, nil)
	c.SetReadDeadline(time.Now().Add(time.Minute))
	rest, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := 1 + n + len(rest); got != len(answer) {
		t.Fatalf("got %d bytes, want %d", got, len(answer))
	}
	n = 0
	for _, e := range rec.Events() {
		if e.Type == "redis.session.tarpitted" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d tarpitted events, want 1", n)
	}
}

func TestLiveTarpitRules(t *testing.T) {
	live := serve.NewLive()
	one := netip.MustParseAddr("10.0.0.5")
	live.Set([]serve.TarpitRule{{Port: 22, Rate: 4}, {Port: 22, From: netip.MustParsePrefix("10.0.0.5/32"), Rate: 9}}, nil)
	if r, ok := live.Tarpit(22, one); !ok || r.Rate != 9 {
		t.Fatalf("the source's own rule must win: %+v %v", r, ok)
	}
	if r, ok := live.Tarpit(22, netip.MustParseAddr("10.0.0.6")); !ok || r.Rate != 4 {
		t.Fatalf("the rule for every source: %+v %v", r, ok)
	}
	if _, ok := live.Tarpit(80, one); ok {
		t.Fatal("port 80 is not tarpitted")
	}
	var none *serve.Live
	if _, ok := none.Tarpit(22, one); ok || none.Changed() != nil {
		t.Fatal("a nil Live has no controls")
	}
}
