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
}

func (c *Conn) touch() {
	d := time.Now().Add(c.limits.Idle)
	if d.After(c.life) {
		d = c.life
	}
	_ = c.Conn.SetDeadline(d)
}

func (c *Conn) Read(p []byte) (int, error) {
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
	c.touch()
	n, err := c.Conn.Write(p)
	c.out.Add(int64(n))
	return n, err
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
	t := &tracker{perSource: map[string]int{}, refusing: make(chan struct{}, maxRefusing)}
	var wg sync.WaitGroup
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(listeners))
	for _, l := range listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- acceptLoop(cctx, env, l, limits, t, h, &wg)
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
	refusing  chan struct{} // a slot per over-limit connection being answered
}

func (t *tracker) acquire(src string, l Limits) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.total >= l.Total || t.perSource[src] >= l.PerSource {
		return false
	}
	t.total++
	t.perSource[src]++
	return true
}

func (t *tracker) release(src string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total--
	if t.perSource[src]--; t.perSource[src] <= 0 {
		delete(t.perSource, src)
	}
}

func acceptLoop(ctx context.Context, env Env, l net.Listener, limits Limits, t *tracker, h ConnHandler, wg *sync.WaitGroup) error {
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
			defer t.release(src)
			serveConn(ctx, env, nc, limits, h)
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

func serveConn(ctx context.Context, env Env, nc net.Conn, limits Limits, h ConnHandler) {
	c := &Conn{Conn: nc, limits: limits, life: time.Now().Add(limits.Life)}
	c.Session = env.Events.Open("tcp", addrPort(nc.RemoteAddr()), addrPort(nc.LocalAddr()))
	c.touch()
	cctx, cancel := context.WithCancel(ctx)
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
