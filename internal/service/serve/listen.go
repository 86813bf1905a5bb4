package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/decnet/decnet/internal/event"
)

// Limits bound what one decky service gives attackers.
type Limits struct {
	PerSource int           // concurrent connections from one source IP
	Total     int           // concurrent connections in all
	Idle      time.Duration // no byte read or written for this long closes
	Life      time.Duration // no connection lives longer
}

// DefaultLimits are generous for a scanner or a human and tight for a
// flood. PerSource stays above what the real products serve one client
// (sshd's MaxStartups lets 100 unauthenticated connections start, vsftpd's
// and Redis's defaults have no per-address limit below maxclients), so a
// client counting its connections never meets a limit the real daemon
// would not have.
var DefaultLimits = Limits{PerSource: 128, Total: 1024, Idle: 5 * time.Minute, Life: 2 * time.Hour}

// refuseDeadline bounds how long an over-limit connection is answered;
// maxRefusing bounds how many are answered at once (more are closed).
const (
	refuseDeadline = 2 * time.Second
	maxRefusing    = 64
)

// ConnHandler serves one accepted connection. It returns when the
// conversation is over; the caller closes the connection and emits the
// session close. A panic is recovered, recorded as a protocol error and
// closes only this connection.
type ConnHandler func(ctx context.Context, c *Conn)

// Conn is an accepted connection with its session. Reads and writes
// extend the idle deadline; the life deadline never moves.
type Conn struct {
	net.Conn
	Session *event.Session
	limits  Limits
	life    time.Time
	in, out atomic.Int64
	reason  atomic.Value // string
	src     string
	active  atomic.Int64 // unix nanoseconds of the last read or write
	// The deadlines the service set (unix nanoseconds, 0 for none).
	readBy, writeBy atomic.Int64

	// The tarpit's view: the decky's live controls, the standard port
	// that took the connection, the source, and a channel closed when
	// the connection's handler is done.
	live      *Live
	port      uint16
	srcAddr   netip.Addr
	stop      <-chan struct{}
	tarpitted atomic.Bool
	onTarpit  func(TarpitRule)
}

// touch marks the connection active and moves its deadlines: the idle
// limit from now, never past the life limit, nor past a deadline the
// service set itself (a product's own timeout, such as BIND's 30 s).
func (c *Conn) touch() {
	now := time.Now()
	c.active.Store(now.UnixNano())
	d := now.Add(c.limits.Idle)
	if d.After(c.life) {
		d = c.life
	}
	_ = c.Conn.SetReadDeadline(earliest(d, c.readBy.Load()))
	_ = c.Conn.SetWriteDeadline(earliest(d, c.writeBy.Load()))
}

// earliest is d, or the service's deadline (unix nanoseconds, 0 for none)
// when that comes first.
func earliest(d time.Time, svc int64) time.Time {
	if svc != 0 && svc < d.UnixNano() {
		return time.Unix(0, svc)
	}
	return d
}

func deadlineNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// SetReadDeadline sets the service's own read deadline, which later reads
// and writes keep (the zero time removes it): the idle limit only shortens it.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.readBy.Store(deadlineNanos(t))
	c.touch()
	return nil
}

// SetWriteDeadline is SetReadDeadline for writes.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.writeBy.Store(deadlineNanos(t))
	c.touch()
	return nil
}

// SetDeadline sets both of the service's deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.readBy.Store(deadlineNanos(t))
	c.writeBy.Store(deadlineNanos(t))
	c.touch()
	return nil
}

func (c *Conn) Read(p []byte) (int, error) {
	if t, ok := c.tarpit(); ok && len(p) > 0 {
		// A tarpitted client's bytes are taken a few at a time: its data
		// waits in the kernel's buffer and the window it is offered shrinks.
		chunk, wait := pace(t.Rate)
		if !c.pause(wait) {
			return 0, net.ErrClosed
		}
		p = p[:min(len(p), chunk)]
	}
	c.touch()
	n, err := c.Conn.Read(p)
	c.in.Add(int64(n))
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.SetCloseReason("timeout")
	}
	return n, err
}

func (c *Conn) Write(p []byte) (int, error) {
	done := 0
	for {
		t, ok := c.tarpit()
		if !ok {
			n, err := c.write(p[done:])
			return done + n, err
		}
		if done == len(p) {
			return done, nil
		}
		// Tarpitted: a chunk, then a pause, re-reading the controls each
		// time so that lifting the tarpit frees the connection at once.
		chunk, wait := pace(t.Rate)
		n, err := c.write(p[done:min(len(p), done+chunk)])
		done += n
		if err != nil {
			return done, err
		}
		if done < len(p) && !c.pause(wait) {
			return done, net.ErrClosed
		}
	}
}

func (c *Conn) write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.touch()
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
}

// tarpit returns the tarpit covering the connection now, recording the
// first time one does.
func (c *Conn) tarpit() (TarpitRule, bool) {
	t, ok := c.live.Tarpit(c.port, c.srcAddr)
	if ok && !c.tarpitted.Swap(true) && c.onTarpit != nil {
		c.onTarpit(t)
	}
	return t, ok
}

// pacePeriod is how often a tarpitted connection moves a chunk.
const pacePeriod = 250 * time.Millisecond

// pace returns how many bytes a tarpit at rate bytes a second moves at a
// time, and how long it waits after each.
func pace(rate int) (int, time.Duration) {
	if rate <= 0 {
		rate = 1
	}
	chunk := max(1, rate*int(pacePeriod)/int(time.Second))
	return chunk, time.Duration(chunk) * time.Second / time.Duration(rate)
}

// pause waits d, or less when the live controls change; it reports false
// when the connection is being shut down.
func (c *Conn) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.live.Changed():
		return true
	case <-c.stop:
		return false
	}
}

// SetCloseReason records why the connection ends (default "client").
func (c *Conn) SetCloseReason(r string) { c.reason.Store(r) }

// PortHandler serves one connection accepted on the given standard port.
type PortHandler func(ctx context.Context, c *Conn, port uint16)

// TCPPorts serves several ports at once (IMAP's 143 and 993, SMTP's 25
// and 587) with one handler told which port took the connection; the
// first to fail stops them all.
func TCPPorts(ctx context.Context, env Env, ports []uint16, h PortHandler) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, port := range ports {
		g.Go(func() error {
			return TCP(gctx, env, port, func(ctx context.Context, c *Conn) { h(ctx, c, port) })
		})
	}
	return g.Wait()
}

// TCP listens on port of every address of the decky and serves each
// connection with h under the limits, until ctx is done.
func TCP(ctx context.Context, env Env, port uint16, h ConnHandler) error {
	std := port
	port = env.Port(port)
	limits := env.Limits
	if limits == (Limits{}) {
		limits = DefaultLimits
	}
	if env.Log == nil {
		env.Log = slog.New(slog.DiscardHandler)
	}
	var listeners []net.Listener
	for _, a := range env.Addrs {
		l, err := net.Listen("tcp", netip.AddrPortFrom(a, port).String())
		if err != nil {
			for _, l := range listeners {
				l.Close()
			}
			return fmt.Errorf("listen %s: %w", net.JoinHostPort(a.String(), strconv.Itoa(int(port))), err)
		}
		listeners = append(listeners, l)
	}
	t := &tracker{perSource: map[string]int{}, conns: map[*Conn]struct{}{}, refusing: make(chan struct{}, maxRefusing)}
	var wg sync.WaitGroup
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- acceptLoop(cctx, env, l, std, limits, t, h, &wg)
		}()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
		// An accept loop died: the service is deaf on that address, so
		// stop it all and let the runtime report the failure.
	}
	cancel()
	for _, l := range listeners {
		l.Close()
	}
	wg.Wait()
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	return nil
}

type tracker struct {
	mu        sync.Mutex
	total     int
	perSource map[string]int
	conns     map[*Conn]struct{}
	refusing  chan struct{} // a slot per over-limit connection being answered
}

// evictIdle is how long a connection must have been silent to make room
// for a newcomer when the service is full.
const evictIdle = 10 * time.Second

// acquire admits a connection from src. At the per-source limit it is
// refused. At the total limit a connection makes room (it is closed as
// "evicted") when it belongs to a source holding more connections than
// src would, or has been silent for evictIdle, so that many idle
// connections (slowloris, from one source or many) cannot lock a real
// client out: the one chosen is of the source holding the most, the
// longest silent of those.
func (t *tracker) acquire(src string, l Limits) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.perSource[src] >= l.PerSource {
		return false
	}
	if t.total >= l.Total {
		var victim *Conn
		now := time.Now().UnixNano()
		for c := range t.conns {
			n := t.perSource[c.src]
			if c.src == src || (n <= t.perSource[src]+1 && now-c.active.Load() < int64(evictIdle)) {
				continue
			}
			if victim == nil || n > t.perSource[victim.src] || n == t.perSource[victim.src] && c.active.Load() < victim.active.Load() {
				victim = c
			}
		}
		if victim == nil {
			return false
		}
		delete(t.conns, victim) // closed once; its release comes when its handler returns
		victim.SetCloseReason("evicted")
		victim.Conn.Close()
	}
	t.total++
	t.perSource[src]++
	return true
}

// register makes an admitted connection a candidate for eviction.
func (t *tracker) register(c *Conn) {
	t.mu.Lock()
	t.conns[c] = struct{}{}
	t.mu.Unlock()
}

func (t *tracker) release(c *Conn, src string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.conns, c)
	t.total--
	if t.perSource[src]--; t.perSource[src] <= 0 {
		delete(t.perSource, src)
	}
}

func acceptLoop(ctx context.Context, env Env, l net.Listener, port uint16, limits Limits, t *tracker, h ConnHandler, wg *sync.WaitGroup) error {
	var lastReject time.Time
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		src, _, _ := net.SplitHostPort(nc.RemoteAddr().String())
		if !t.acquire(src, limits) {
			// Refusals are counted and reported once per burst, not per
			// connection, so a flood cannot flood the event stream.
			if time.Since(lastReject) > time.Minute {
				lastReject = time.Now()
				env.Events.Emit(event.Event{Type: env.Events.Namespace() + ".session.rejected",
					Src: &event.Endpoint{IP: src}, Fields: map[string]any{"reason": "per-source or total connection limit"}})
			}
			refuse(env, t, nc)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(ctx, env, nc, port, limits, h, t, src)
		}()
	}
}

// refuse answers an over-limit connection with env.Refuse, when the
// service has one and fewer than maxRefusing are being answered, and
// closes it.
func refuse(env Env, t *tracker, nc net.Conn) {
	if env.Refuse == nil {
		nc.Close()
		return
	}
	select {
	case t.refusing <- struct{}{}:
	default:
		nc.Close()
		return
	}
	go func() {
		defer func() { <-t.refusing }()
		defer nc.Close()
		defer func() { _ = recover() }()
		_ = nc.SetDeadline(time.Now().Add(refuseDeadline))
		env.Refuse(nc)
	}()
}

func serveConn(ctx context.Context, env Env, nc net.Conn, port uint16, limits Limits, h ConnHandler, t *tracker, src string) {
	c := &Conn{Conn: nc, limits: limits, life: time.Now().Add(limits.Life), src: src, live: env.Live, port: port, srcAddr: addrPort(nc.RemoteAddr()).Addr()}
	c.touch()
	t.register(c)
	defer t.release(c, src)
	c.Session = env.Events.Open("tcp", addrPort(nc.RemoteAddr()), addrPort(nc.LocalAddr()))
	cctx, cancel := context.WithCancel(ctx)
	c.stop = cctx.Done()
	c.onTarpit = func(r TarpitRule) {
		if tc, ok := nc.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096) // a small window for what is left
		}
		c.Session.Emit(event.Event{Type: env.Events.Namespace() + ".session.tarpitted",
			Fields: map[string]any{"port": int(port), "rate": r.Rate, "source": r.Source}})
	}
	stop := context.AfterFunc(ctx, func() { c.SetCloseReason("server"); nc.Close() })
	defer func() {
		stop()
		cancel()
		if r := recover(); r != nil {
			env.Log.Error("handler panic", "err", r, "stack", string(debug.Stack()))
			c.Session.Emit(event.Event{Type: env.Events.Namespace() + ".protocol.error", Fields: map[string]any{"error": "internal error"}})
			c.SetCloseReason("error")
		}
		nc.Close()
		reason, _ := c.reason.Load().(string)
		if reason == "" {
			reason = "client"
		}
		c.Session.Close(reason, c.in.Load(), c.out.Load())
	}()
	h(cctx, c)
}

// addrPort returns the address and port of a TCP or UDP endpoint.
func addrPort(a net.Addr) netip.AddrPort {
	switch v := a.(type) {
	case *net.TCPAddr:
		return v.AddrPort()
	case *net.UDPAddr:
		return v.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}
