// Package drivertest is the conformance suite every driver passes. It
// applies topologies through the driver and checks what an outsider sees:
// each decky answering on each of its addresses, the engine reporting it by
// its labels, an apply of what runs changing nothing, a teardown leaving
// nothing, and, for drivers that give each decky its own network stack, the
// persona's vendor MAC on every network interface (as the engine reports it
// and as the interface carries it), its hostname and its TCP/IP sysctls.
package drivertest

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decnet/decnet/internal/driver"
	"github.com/decnet/decnet/internal/persona"
	"github.com/decnet/decnet/internal/topology"
)

// Harness is what a driver's test hands the suite.
type Harness struct {
	Driver driver.Driver
	// ID makes the suite's topology ids unique to the run.
	ID string
	// LAN returns a LAN of the given driver with a subnet of its own, or
	// skips the test (loudly) when it cannot make one here.
	LAN func(t *testing.T, name string, kind topology.Driver, dmz bool) topology.LAN
	// Inspect reports what an outsider sees of a decky; required when the
	// driver gives deckies their own stack (Capabilities.OwnStack).
	Inspect func(t *testing.T, spec *topology.Spec, decky string) Seen
	// EngineMACs: the engine reports the MAC of every endpoint (Docker API
	// 1.44 and later). Otherwise only the home network's is checked there;
	// the interfaces themselves always are.
	EngineMACs bool
}

// Seen is a decky as an outsider sees it.
type Seen struct {
	Hostname  string
	Endpoints []Endpoint
	// Sysctls holds the value of every key of the family's stack profile.
	Sysctls map[string]string
}

// Endpoint is one network interface of a decky.
type Endpoint struct {
	IP string
	// EngineMAC is the MAC the engine reports for the endpoint.
	EngineMAC string
	// LinkMAC is the MAC the interface carries, read inside the decky's
	// namespace; ParentMAC the host interface's, for ipvlan.
	LinkMAC, ParentMAC string
}

// port is what every decky of the suite serves: Redis needs no root.
const (
	service = "redis"
	port    = "6379"
)

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	caps := h.Driver.Capabilities()
	t.Run("lifecycle", func(t *testing.T) { lifecycle(t, h) })
	for _, kind := range []topology.Driver{topology.Macvlan, topology.IPvlan} {
		t.Run(string(kind), func(t *testing.T) {
			if !slices.Contains(caps.LANDrivers, kind) {
				t.Skipf("SKIP: the %s driver does not support %s LANs (Capabilities)", h.Driver.Name(), kind)
			}
			onLAN(t, h, kind)
		})
	}
}

// twoLANs is a DMZ and an inner LAN joined by a decky on both, and a
// decky of another family on the DMZ.
func twoLANs(t *testing.T, h Harness) *topology.Spec {
	dmz, inner := h.LAN(t, "dmz", topology.Bridge, true), h.LAN(t, "inner", topology.Bridge, false)
	at := func(l topology.LAN, n int) topology.Address {
		base := strings.TrimSuffix(l.Subnet, "0/24")
		return topology.Address{LAN: l.Name, IP: fmt.Sprintf("%s%d", base, n)}
	}
	return &topology.Spec{ID: "conf-" + h.ID, Name: "conformance", Seed: "conformance-seed-" + h.ID,
		LANs: []topology.LAN{dmz, inner},
		Deckies: []topology.Decky{
			{Name: "gw", Persona: topology.Persona{OS: "linux", Distro: "debian", Hostname: "gw-edge-01"}, ForwardsL3: true,
				Addresses: []topology.Address{at(dmz, 10), at(inner, 10)}, Services: []string{service}},
			{Name: "ws", Persona: topology.Persona{OS: "windows", Distro: "win10", Hostname: "DESKTOP-4N3Q7ZB"},
				Addresses: []topology.Address{at(dmz, 11)}, Services: []string{service}},
		}}
}

func apply(t *testing.T, h Harness, spec *topology.Spec) []driver.Progress {
	t.Helper()
	if err := topology.Validate(spec, topology.Options{}).Err(); err != nil {
		t.Fatal(err)
	}
	var steps []driver.Progress
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := h.Driver.Apply(ctx, spec, func(p driver.Progress) { steps = append(steps, p) }); err != nil {
		t.Fatalf("apply: %v", err)
	}
	return steps
}

func teardown(t *testing.T, h Harness) {
	t.Helper()
	if err := h.Driver.Teardown(context.Background()); err != nil {
		t.Fatalf("teardown: %v", err)
	}
}

func lifecycle(t *testing.T, h Harness) {
	spec := twoLANs(t, h)
	t.Cleanup(func() { _ = h.Driver.Teardown(context.Background()) })
	apply(t, h, spec)

	// The engine reports every decky by the labels it carries.
	obs, err := h.Driver.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range spec.Deckies {
		if !obs.Running(spec.ID, d.Name) {
			t.Errorf("decky %s is not reported running by its labels: %+v", d.Name, obs.Deckies)
		}
	}
	// Every decky answers on every address it has.
	for _, d := range spec.Deckies {
		for _, a := range d.Addresses {
			waitDial(t, net.JoinHostPort(a.IP, port))
		}
	}
	// What runs is what is wanted: another apply changes nothing.
	if steps := apply(t, h, spec); len(steps) != 0 {
		t.Errorf("re-applying what runs did: %+v", steps)
	}
	if h.Driver.Capabilities().OwnStack {
		for _, d := range spec.Deckies {
			checkIdentity(t, h, spec, d.Name, topology.Bridge)
		}
	}
	teardown(t, h)
	teardown(t, h) // idempotent
	obs, err = h.Driver.Observe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.Deckies)+len(obs.Containers)+len(obs.Bridges) != 0 {
		t.Fatalf("after teardown the engine still has: %+v", obs)
	}
}

// onLAN puts a decky on a LAN of the given kind and checks its identity.
func onLAN(t *testing.T, h Harness, kind topology.Driver) {
	l := h.LAN(t, "office", kind, true)
	base := strings.TrimSuffix(l.Subnet, "0/24")
	spec := &topology.Spec{ID: "conf-" + string(kind) + "-" + h.ID, Name: "conformance-" + string(kind), Seed: "conformance-" + string(kind),
		LANs: []topology.LAN{l},
		Deckies: []topology.Decky{{Name: "nas", Persona: topology.Persona{OS: "linux", Distro: "debian", Hostname: "nas-02"},
			Addresses: []topology.Address{{LAN: l.Name, IP: base + "40"}}, Services: []string{service}}}}
	t.Cleanup(func() { _ = h.Driver.Teardown(context.Background()) })
	apply(t, h, spec)
	waitDial(t, net.JoinHostPort(base+"40", port))
	if h.Driver.Capabilities().OwnStack {
		checkIdentity(t, h, spec, "nas", kind)
	}
	teardown(t, h)
}

// checkIdentity compares what an outsider sees of a decky with what its
// persona says.
func checkIdentity(t *testing.T, h Harness, spec *topology.Spec, name string, kind topology.Driver) {
	t.Helper()
	d := spec.Decky(name)
	fam := persona.Family(d.Persona.OS)
	id := persona.NewIdentity(spec.Seed, d.Name)
	seen := h.Inspect(t, spec, name)
	if seen.Hostname != d.Persona.Hostname {
		t.Errorf("%s: hostname %q, want %q", name, seen.Hostname, d.Persona.Hostname)
	}
	if len(seen.Endpoints) != len(d.Addresses) {
		t.Fatalf("%s: %d endpoints seen, want %d: %+v", name, len(seen.Endpoints), len(d.Addresses), seen.Endpoints)
	}
	for i, a := range d.Addresses {
		ep := seen.Endpoints[i]
		if ep.IP != a.IP {
			t.Errorf("%s endpoint %d: ip %s, want %s", name, i, ep.IP, a.IP)
		}
		want := id.MACFor(fam, i)
		if kind == topology.IPvlan {
			// An ipvlan interface answers with its parent's MAC: the kernel
			// gives it no other.
			if !strings.EqualFold(ep.LinkMAC, ep.ParentMAC) {
				t.Errorf("%s on ipvlan: MAC %s, want the parent's %s", name, ep.LinkMAC, ep.ParentMAC)
			}
			continue
		}
		if !strings.EqualFold(ep.LinkMAC, want) {
			t.Errorf("%s on %s (%s): interface MAC %s, want the persona's %s", name, a.LAN, a.IP, ep.LinkMAC, want)
		}
		if (i == 0 || h.EngineMACs) && !strings.EqualFold(ep.EngineMAC, want) {
			t.Errorf("%s on %s (%s): the engine reports MAC %s, want %s", name, a.LAN, a.IP, ep.EngineMAC, want)
		}
		if !vendorOf(fam, ep.LinkMAC) {
			t.Errorf("%s: MAC %s has no vendor prefix of a %s machine", name, ep.LinkMAC, fam)
		}
	}
	info, _ := persona.LookupFamily(fam)
	for _, s := range info.Sysctls {
		if got := seen.Sysctls[s.Key]; got != s.Value {
			t.Errorf("%s (%s): %s = %q, want %q", name, fam, s.Key, got, s.Value)
		}
	}
}

func vendorOf(f persona.Family, mac string) bool {
	info, _ := persona.LookupFamily(f)
	return slices.ContainsFunc(info.OUIs, func(oui string) bool { return strings.HasPrefix(strings.ToLower(mac), oui) })
}

func waitDial(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing answers on %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
