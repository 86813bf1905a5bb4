// Package servicetest runs one service for a test: on its real port, on a
// loopback address of its own, with an in-memory event recorder.
package servicetest

import (
	"context"
	"errors"
	"fmt"
	"github.com/decnet/decnet/internal/bait"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/service/serve"
	"github.com/decnet/decnet/internal/spool"
	"github.com/decnet/decnet/internal/testenv"
)

// Options describe the decky the service runs on.
type Options struct {
	OS, Distro, Hostname string // defaults: linux, debian, a seeded hostname
	Archetype            string
	Config               map[string]any
	Limits               serve.Limits
	// Bait are the bait files the service shows (package bait).
	Bait []bait.File
	// Live are the decky's live controls (nil: none); a test changes
	// them while the service runs.
	Live *serve.Live
}

// Running is a started service.
type Running struct {
	Env     serve.Env
	Events  *event.Recorder
	Addr    netip.Addr
	QuarDir string
	cancel  context.CancelFunc
	done    chan error
}

// Port returns, as text, the port where the service serves its standard
// port p (see HostPort).
func (r *Running) Port(p uint16) string { return strconv.Itoa(int(r.Env.Port(p))) }

// HostPort returns "ip:port" where the service serves its standard port
// (moved to a free port when this process may not bind low ones).
func (r *Running) HostPort(port uint16) string {
	return net.JoinHostPort(r.Addr.String(), strconv.Itoa(int(r.Env.Port(port))))
}

// Start runs the service slug (which must be implemented, i.e. its package
// imported by the test) on a random 127.x.y.z address and waits until port
// accepts connections. Settings are decoded as the decky runtime decodes
// them. A standard port this process may not bind (below 1024 without
// root) is moved to a free one: HostPort says where. The service stops
// when the test ends.
func Start(t testing.TB, slug string, port uint16, o Options) *Running {
	t.Helper()
	info, ok := service.Lookup(slug)
	factory, isF := info.New.(serve.Factory)
	if !ok || !isF {
		t.Fatalf("service %s is not implemented (import its package)", slug)
	}
	settings, err := info.Decode(o.Config)
	if err != nil {
		t.Fatalf("settings of %s: %v", slug, err)
	}
	if o.OS == "" {
		o.OS = "linux"
	}
	if o.Distro == "" {
		o.Distro = "debian"
	}
	dist, ok := persona.LookupDistro(o.Distro)
	if !ok {
		t.Fatalf("unknown distro %s", o.Distro)
	}
	seed := fmt.Sprintf("test-seed-%d", rand.Uint64())
	id := persona.NewIdentity(seed, "decky-test")
	dist = dist.ForIdentity(id)
	if o.Hostname == "" {
		o.Hostname = id.Hostname(dist.HostnameStyle)
	}
	addr := netip.AddrFrom4([4]byte{127, byte(10 + rand.IntN(200)), byte(rand.IntN(256)), byte(1 + rand.IntN(254))})
	rec := event.NewRecorder()
	log := testenv.Logger(t, slog.LevelDebug)
	if _, fuzzing := t.(*testing.F); fuzzing {
		// f.Log may not be called from a fuzz target, where the
		// service's handlers run.
		log = slog.New(slog.DiscardHandler)
	}
	quar := t.TempDir()
	env := serve.Env{
		Topology: "test-topology", Decky: "decky-test", Identity: id, Addrs: []netip.Addr{addr}, Settings: settings,
		Ports:      movedPorts(t, addr, info.Ports),
		Persona:    serve.Persona{Family: persona.Family(o.OS), Distro: dist, Hostname: o.Hostname, Archetype: o.Archetype},
		Log:        log.With("service", slug),
		Events:     event.NewEmitter(rec, "test-topology", "decky-test", slug, service.Namespace(slug), log),
		Quarantine: spool.NewQuarantine(quar, 64<<20),
		Limits:     o.Limits,
		Bait:       o.Bait,
		Live:       o.Live,
	}
	srv, err := factory(env)
	if err != nil {
		t.Fatalf("build %s: %v", slug, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{Env: env, Events: rec, Addr: addr, QuarDir: quar, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("%s Serve returned %v", slug, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("%s did not stop within 10s", slug)
		}
	})
	udpOnly := !slices.Contains(info.Ports, service.Port{Number: port, Proto: service.TCP})
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := probe(r, port, udpOnly)
		if err == nil {
			break
		}
		select {
		case err := <-r.done:
			t.Fatalf("%s stopped at start: %v", slug, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never listened on %s: %v", slug, r.HostPort(port), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}

// probe says whether the service listens on port: a TCP port accepts, a
// UDP port is bound. A UDP service need not answer a probe, and binding
// the port to test it could take it from the service, so the kernel's
// socket table is read instead.
func probe(r *Running, port uint16, udp bool) error {
	if !udp {
		c, err := net.DialTimeout("tcp", r.HostPort(port), time.Second)
		if err == nil {
			c.Close()
		}
		return err
	}
	if testenv.UDPBound(netip.AddrPortFrom(r.Addr, r.Env.Port(port))) {
		return nil
	}
	return fmt.Errorf("udp %s not bound yet", r.HostPort(port))
}

// movedPorts maps each port of ports that this process may not bind on
// addr to a free port (free for both TCP and UDP: Env.Ports moves a number,
// and DNS serves 53 over both).
func movedPorts(t testing.TB, addr netip.Addr, ports []service.Port) map[uint16]uint16 {
	t.Helper()
	out := map[uint16]uint16{}
	for _, p := range ports {
		if _, done := out[p.Number]; done || !needsRoot(addr, p) {
			continue
		}
		out[p.Number] = testenv.FreePort(t, addr)
		t.Logf("port %d needs root: serving it on %d", p.Number, out[p.Number])
	}
	return out
}

// needsRoot says whether binding p on addr is refused for lack of
// privilege (a port taken is the service's own error to report).
func needsRoot(addr netip.Addr, p service.Port) bool {
	var err error
	if p.Proto == service.UDP {
		var c net.PacketConn
		if c, err = net.ListenPacket("udp", netip.AddrPortFrom(addr, p.Number).String()); err == nil {
			c.Close()
		}
	} else {
		var l net.Listener
		if l, err = net.Listen("tcp", netip.AddrPortFrom(addr, p.Number).String()); err == nil {
			l.Close()
		}
	}
	return errors.Is(err, syscall.EACCES)
}

// Exchange sends script at once, as bots do, and returns everything the
// server answered until it closed the connection or wait passed.
func Exchange(t testing.TB, addr, script string, wait time.Duration) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	io.WriteString(c, script)
	out, _ := io.ReadAll(c)
	return string(out)
}

// FuzzSession feeds each input, as one client's whole side of a session,
// to a running service, and fails when a handler panicked on it (the
// accept loop turns a panic into a protocol.error "internal error").
func FuzzSession(f *testing.F, r *Running, port uint16, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	seen := 0
	f.Fuzz(func(t *testing.T, input []byte) {
		c, err := net.DialTimeout("tcp", r.HostPort(port), 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		c.Write(input)
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
		events := r.Events.Events()
		for _, e := range events[min(seen, len(events)):] {
			if strings.HasSuffix(e.Type, ".protocol.error") && e.Fields["error"] == "internal error" {
				t.Fatalf("a handler panicked on %q", input)
			}
		}
		seen = len(events)
	})
}

// FuzzPacket sends each input as one datagram to a running UDP service
// and fails when its handler panicked on it. A handler answers or not;
// either way the next input waits for the reply or a short silence.
func FuzzPacket(f *testing.F, r *Running, port uint16, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	seen := 0
	f.Fuzz(func(t *testing.T, input []byte) {
		c, err := net.Dial("udp", r.HostPort(port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(input)
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		c.Read(make([]byte, 65536))
		events := r.Events.Events()
		for _, e := range events[min(seen, len(events)):] {
			if strings.HasSuffix(e.Type, ".protocol.error") && e.Fields["error"] == "internal error" {
				t.Fatalf("a handler panicked on %q", input)
			}
		}
		seen = len(events)
	})
}
