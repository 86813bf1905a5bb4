package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/decnet/decnet/internal/event"
)

// PacketLimits bound what a UDP service answers. UDP sources are
// spoofable, so past its rate a source gets only replies no larger than
// what it sent: a decky can never be an amplifier.
type PacketLimits struct {
	Rate      float64 // full answers per second per source, after Burst
	Burst     int     // full answers a quiet source may get at once
	Sources   int     // sources remembered; past it the quietest are forgotten
	Workers   int     // datagrams handled at once; more are dropped
	MaxPacket int     // longest datagram read; the rest is cut off
}

// DefaultPacketLimits suit a scanner walking a MIB or a zone and starve a
// flood.
var DefaultPacketLimits = PacketLimits{Rate: 50, Burst: 200, Sources: 65536, Workers: 256, MaxPacket: 65535}

// ErrRateLimited is returned by Packet.Reply for a reply dropped because
// its source is past its rate and the reply is larger than the request.
var ErrRateLimited = errors.New("source over its rate: reply larger than request dropped")

// Packet is one datagram received by a UDP service.
type Packet struct {
	Data []byte
	Src  netip.AddrPort
	Dst  netip.AddrPort
	// Limited says the source is past its rate: Reply sends only replies
	// no larger than Data (DNS sets TC so the client retries over TCP).
	Limited bool
	conn    *net.UDPConn
}

// Reply sends b to the packet's source from the address it came to.
func (p *Packet) Reply(b []byte) error {
	if p.Limited && len(b) > len(p.Data) {
		return ErrRateLimited
	}
	_, err := p.conn.WriteToUDPAddrPort(b, p.Src)
	return err
}

// Local returns the socket's local address: the decky address a transfer
// protocol (TFTP) opens its per-transfer socket on.
func (p *Packet) Local() netip.Addr { return p.Dst.Addr() }

// PacketHandler answers one datagram. It may run concurrently with
// others; a panic is recovered and recorded as a protocol error.
type PacketHandler func(ctx context.Context, p *Packet)

// UDP listens on port of every address of the decky and hands each
// datagram to h under the packet limits, until ctx is done.
func UDP(ctx context.Context, env Env, port uint16, limits PacketLimits, h PacketHandler) error {
	port = env.Port(port)
	if limits == (PacketLimits{}) {
		limits = DefaultPacketLimits
	}
	var conns []*net.UDPConn
	for _, a := range env.Addrs {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(a, port)))
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return fmt.Errorf("listen udp %s: %w", net.JoinHostPort(a.String(), strconv.Itoa(int(port))), err)
		}
		conns = append(conns, c)
	}
	rl := newRateLimiter(limits)
	sem := make(chan struct{}, limits.Workers)
	var wg sync.WaitGroup
	errc := make(chan error, len(conns))
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- readLoop(cctx, env, c, limits, rl, sem, h, &wg)
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	return nil
}

func readLoop(ctx context.Context, env Env, c *net.UDPConn, limits PacketLimits, rl *rateLimiter, sem chan struct{}, h PacketHandler, wg *sync.WaitGroup) error {
	local := addrPort(c.LocalAddr())
	buf := make([]byte, limits.MaxPacket)
	for {
		n, src, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		limited, report := rl.take(src.Addr(), time.Now())
		if report {
			env.Events.Emit(event.Event{Type: env.Events.Namespace() + ".rate.limited", Transport: "udp",
				Src: event.EndpointOf(src), Dst: event.EndpointOf(local),
				Fields: map[string]any{"rate": limits.Rate, "burst": limits.Burst}})
		}
		select {
		case sem <- struct{}{}:
		default:
			continue // every worker busy: a flood, dropped unread
		}
		p := &Packet{Data: append([]byte(nil), buf[:n]...), Src: src, Dst: local, Limited: limited, conn: c}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer func() {
				if r := recover(); r != nil {
					env.Logger().Error("packet handler panic", "err", r, "stack", string(debug.Stack()))
					env.Events.Emit(event.Event{Type: env.Events.Namespace() + ".protocol.error", Transport: "udp",
						Src: event.EndpointOf(p.Src), Dst: event.EndpointOf(p.Dst), Fields: map[string]any{"error": "internal error"}})
				}
			}()
			h(ctx, p)
		}()
	}
}

// rateLimiter is a token bucket per source address.
type rateLimiter struct {
	mu      sync.Mutex
	limits  PacketLimits
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	tokens   float64
	last     time.Time
	reported time.Time
}

func newRateLimiter(l PacketLimits) *rateLimiter {
	return &rateLimiter{limits: l, buckets: map[netip.Addr]*bucket{}}
}

// take spends one token of src. limited says src had none left; report
// says this is the first limited packet of src in a minute.
func (r *rateLimiter) take(src netip.Addr, now time.Time) (limited, report bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, ok := r.buckets[src]
	if !ok {
		if len(r.buckets) >= r.limits.Sources {
			r.forget(now)
		}
		b = &bucket{tokens: float64(r.limits.Burst), last: now}
		r.buckets[src] = b
	}
	b.tokens = min(float64(r.limits.Burst), b.tokens+now.Sub(b.last).Seconds()*r.limits.Rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return false, false
	}
	if now.Sub(b.reported) > time.Minute {
		b.reported = now
		return true, true
	}
	return true, false
}

// forget drops the sources whose buckets have refilled (they would start
// full again anyway) and, if that frees nothing, every source: memory
// stays bounded under a spoofed-source flood.
func (r *rateLimiter) forget(now time.Time) {
	for a, b := range r.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*r.limits.Rate >= float64(r.limits.Burst) {
			delete(r.buckets, a)
		}
	}
	if len(r.buckets) >= r.limits.Sources {
		clear(r.buckets)
	}
}
