// Package servicetest runs one service for a test: on its real port, on a
// loopback address of its own, with an in-memory event recorder.
package servicetest

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/event"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/service"
	"github.com/decnet/decnet/internal/testenv"
)

// Options describe the decky the service runs on.
type Options struct {
	OS, Distro, Hostname string // defaults: linux, debian, a seeded hostname
	Config               map[string]any
	Limits               service.Limits
}

// Running is a started service.
type Running struct {
	Env     service.Env
	Events  *event.Recorder
	Addr    netip.Addr
	QuarDir string
	cancel  context.CancelFunc
	done    chan error
}

// HostPort returns "ip:port" of the service.
func (r *Running) HostPort(port uint16) string {
	return net.JoinHostPort(r.Addr.String(), strconv.Itoa(int(port)))
}

// Start runs the service slug (which must be implemented, i.e. its package
// imported by the test) on a random 127.x.y.z address and waits until port
// accepts connections. The service stops when the test ends.
func Start(t testing.TB, slug string, port uint16, o Options) *Running {
	t.Helper()
	impl, ok := service.Implementation(slug)
	factory, isF := impl.(service.Factory)
	if !ok || !isF {
		t.Fatalf("service %s is not implemented (import its package)", slug)
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
	if o.Hostname == "" {
		o.Hostname = id.Hostname(dist.HostnameStyle)
	}
	addr := netip.AddrFrom4([4]byte{127, byte(10 + rand.IntN(200)), byte(rand.IntN(256)), byte(1 + rand.IntN(254))})
	rec := event.NewRecorder()
	log := testenv.Logger(t, slog.LevelDebug)
	quar := t.TempDir()
	env := service.Env{
		Topology: "test-topology", Decky: "decky-test", Identity: id, Addrs: []netip.Addr{addr}, Config: o.Config,
		Persona:    service.Persona{Family: persona.Family(o.OS), Distro: dist, Hostname: o.Hostname},
		Log:        log.With("service", slug),
		Events:     event.NewEmitter(rec, "test-topology", "decky-test", slug, service.Namespace(slug), log),
		Quarantine: event.NewQuarantine(quar, 64<<20),
		Limits:     o.Limits,
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
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.HostPort(port), time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-r.done:
			t.Fatalf("%s stopped at start: %v", slug, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never accepted on %s: %v", slug, r.HostPort(port), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r
}
